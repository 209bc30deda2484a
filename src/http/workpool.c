/*
 * The helper thread pool of http/workpool.h: a mutex, a condition variable
 * and a singly linked FIFO of jobs. Reservations count against the same
 * limit as queued and running jobs, so a caller learns that the pool is
 * full before it commits to handing a job over.
 */
#include "http/workpool.h"
#include "util/log.h"

#include <pthread.h>
#include <stdlib.h>

struct job {
	workpool_fn fn;
	void *arg;
	struct job *next;
};

struct workpool {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct job *head, *tail;
	int used;      /* reserved, queued and running jobs */
	int queue_max;
	volatile int stopping;
	int thread_count;
	pthread_t *threads;
};

static void *helper_main(void *opaque)
{
	struct workpool *pool = opaque;

	for (;;) {
		struct job *job;

		pthread_mutex_lock(&pool->lock);
		while (pool->head == NULL && !pool->stopping)
			pthread_cond_wait(&pool->wake, &pool->lock);
		job = pool->head;
		if (job == NULL) {
			/* Stopping with an empty queue: this helper is done. */
			pthread_mutex_unlock(&pool->lock);
			return NULL;
		}
		pool->head = job->next;
		if (pool->head == NULL)
			pool->tail = NULL;
		pthread_mutex_unlock(&pool->lock);

		job->fn(job->arg, &pool->stopping);
		free(job);

		pthread_mutex_lock(&pool->lock);
		pool->used--;
		pthread_mutex_unlock(&pool->lock);
	}
}

struct workpool *workpool_new(int threads, int queue_max)
{
	struct workpool *pool = calloc(1, sizeof(*pool));

	if (pool == NULL)
		return NULL;
	pool->threads = calloc((size_t)threads, sizeof(pthread_t));
	if (pool->threads == NULL) {
		free(pool);
		return NULL;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, NULL);
	pool->queue_max = queue_max;
	for (int i = 0; i < threads; i++) {
		if (pthread_create(&pool->threads[i], NULL, helper_main, pool) != 0) {
			log_error("http", "cannot start a helper thread", NULL);
			workpool_free(&pool);
			return NULL;
		}
		pool->thread_count++;
	}
	return pool;
}

int workpool_reserve(struct workpool *pool)
{
	int result = -1;

	pthread_mutex_lock(&pool->lock);
	if (pool->used < pool->queue_max && !pool->stopping) {
		pool->used++;
		result = 0;
	}
	pthread_mutex_unlock(&pool->lock);
	return result;
}

void workpool_cancel(struct workpool *pool)
{
	pthread_mutex_lock(&pool->lock);
	pool->used--;
	pthread_mutex_unlock(&pool->lock);
}

void workpool_submit(struct workpool *pool, workpool_fn fn, void *arg)
{
	struct job *job = malloc(sizeof(*job));

	if (job == NULL) {
		/* Out of memory: run it here rather than lose the caller's resume step. */
		log_error("http", "out of memory queueing a helper job; running it on the caller's thread", NULL);
		fn(arg, &pool->stopping);
		workpool_cancel(pool);
		return;
	}
	job->fn = fn;
	job->arg = arg;
	job->next = NULL;
	pthread_mutex_lock(&pool->lock);
	if (pool->tail != NULL)
		pool->tail->next = job;
	else
		pool->head = job;
	pool->tail = job;
	pthread_cond_signal(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
}

void workpool_free(struct workpool **poolp)
{
	struct workpool *pool = *poolp;

	if (pool == NULL)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->stopping = 1;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->thread_count; i++)
		pthread_join(pool->threads[i], NULL);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->wake);
	free(pool->threads);
	free(pool);
	*poolp = NULL;
}
