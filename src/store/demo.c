/*
 * Demo data generator behind `kontor demo`: fills an empty database with the
 * made-up organization "Exempel AB" (people, teams, projects, sections,
 * tasks and subtasks, followers, tags, comments, system stories and the
 * division "Exempel Nord"). Every choice comes from a small seeded PRNG, so
 * one seed always yields the same names, structure and counts. Rows go in
 * through the ordinary storage seam (db.h) with cached prepared statements,
 * committed in batches so that a million tasks never sit in one transaction.
 */
#include "store/demo.h"
#include "util/gid.h"
#include "util/log.h"
#include "util/timeutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Rows per transaction while generating. */
#define DEMO_BATCH_ROWS 10000
/* Positions leave room to insert between neighbours without renumbering. */
#define DEMO_POSITION_STEP ((int64_t)1 << 20)
#define DEMO_PROGRESS_TASKS 100000
#define DEMO_MAX_SECTIONS 5
#define DEMO_MAX_STORIES 6
#define DEMO_MAX_FOLLOWERS 3
#define DEMO_CONNECT_TIMEOUT_MS 10000

#define DAY_US ((int64_t)86400 * 1000000)
/* Projects untouched for longer than this count as old. */
#define UNTOUCHED_DAYS 120

#define ORG_NAME "Exempel AB"
#define ORG_PLAN "enterprise_plus"
#define ORG_DOMAIN "exempel.se"
#define GUEST_DOMAIN "konsult.example"
#define DIVISION_NAME "Exempel Nord"
#define DIVISION_PLAN "enterprise"
#define SUPER_ADMIN_NAME "Astrid Admin"
#define SUPER_ADMIN_EMAIL "admin@" ORG_DOMAIN
#define DIVISION_ADMIN_NAME "Nils Nordin"
#define DIVISION_ADMIN_EMAIL "nord.admin@" ORG_DOMAIN

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---------------------------------------------------------------- sizes */

struct demo_size {
	const char *name;
	int people;         /* every role */
	int admins;         /* role admin, besides the super admin */
	int guests;
	int cities;         /* teams = functions x cities; 1 gives plain function names */
	int projects;
	int64_t tasks;      /* top-level tasks and subtasks together */
};

static const struct demo_size demo_sizes[] = {
	{ "small", 200, 4, 8, 1, 150, 20000 },
	{ "large", 5000, 25, 150, 10, 5000, 1000000 },
};

/* ---------------------------------------------------------------- word lists */

static const char *const first_names[] = {
	"Anna", "Erik", "Lars", "Karin", "Maria", "Anders", "Eva", "Johan", "Kristina", "Per",
	"Lena", "Karl", "Sara", "Mikael", "Emma", "Nils", "Ingrid", "Björn", "Åsa", "Göran",
	"Märta", "Håkan", "Sören", "Linnéa", "Örjan", "Elin", "Oskar", "Maja", "Gustav", "Ebba",
	"Axel", "Klara", "Olle", "Frida", "Hugo", "Ida", "Viktor", "Saga", "Filip", "Ellen",
	"Jonas", "Hanna", "Magnus", "Malin", "Fredrik", "Sofia", "Henrik", "Cecilia", "Mattias",
	"Helena", "Stefan", "Ulla", "Tomas", "Birgitta", "Jörgen", "Agneta", "Måns", "Ylva",
	"René", "Agnes", "Stig", "Britt", "Åke", "Siv", "André", "Anna-Karin", "Per-Olof", "Lovisa",
};

static const char *const last_names[] = {
	"Johansson", "Andersson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
	"Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Jansson", "Hansson",
	"Bengtsson", "Jönsson", "Lindberg", "Jakobsson", "Magnusson", "Olofsson", "Lindström",
	"Lindqvist", "Lindgren", "Berg", "Axelsson", "Bergström", "Lundberg", "Lind", "Lundgren",
	"Lundqvist", "Mattsson", "Berglund", "Fredriksson", "Sandberg", "Henriksson", "Forsberg",
	"Sjöberg", "Wallin", "Engström", "Eklund", "Danielsson", "Lundin", "Håkansson", "Björk",
	"Bergman", "Gunnarsson", "Holm", "Wikström", "Samuelsson", "Isaksson", "Fransson",
	"Bergqvist", "Nyström", "Holmberg", "Arvidsson", "Löfgren", "Söderberg", "Nyberg",
	"Blomqvist", "Claesson", "Nordström", "Mårtensson", "Lundström", "Åberg", "Strömberg",
	"Sundberg", "Öberg", "Ekström", "Hedlund", "Dahlberg", "Sjögren", "Hellström",
};

/* Team functions; the division's teams are picked by index below. */
static const char *const team_functions[] = {
	"Ekonomi", "Marknad", "Försäljning", "Utveckling", "Drift", "Kundtjänst",
	"HR", "Juridik", "Inköp", "Produkt", "Design", "Ledning",
};
#define FUNCTION_DRIFT 4
#define FUNCTION_KUNDTJANST 5
#define FUNCTION_LEDNING 11

static const char *const team_descriptions[] = {
	"Budget, redovisning, fakturering och bokslut.",
	"Kampanjer, varumärke, webbplats och nyhetsbrev.",
	"Nya kunder, offerter och avtal.",
	"Vi bygger och förbättrar våra system.",
	"Servrar, nätverk, övervakning och beredskap.",
	"Support till kunder via telefon, chatt och e-post.",
	"Rekrytering, introduktion, lön och arbetsmiljö.",
	"Avtal, dataskydd och regelefterlevnad.",
	"Upphandling och leverantörer.",
	"Produktplanering och prioritering.",
	"Gränssnitt, designsystem och användartester.",
	"Företagets ledningsgrupp.",
};

/* Offices for the large size; the last three form the division's region. */
static const char *const cities[] = {
	"Stockholm", "Göteborg", "Malmö", "Uppsala", "Linköping",
	"Örebro", "Västerås", "Umeå", "Luleå", "Sundsvall",
};
#define DIVISION_CITIES 3

/* Asana's colour names for projects and tags. */
static const char *const colors[] = {
	"dark-pink", "dark-green", "dark-blue", "dark-red", "dark-teal", "dark-brown",
	"dark-orange", "dark-purple", "dark-warm-gray", "light-pink", "light-green",
	"light-blue", "light-red", "light-teal", "light-brown", "light-orange",
	"light-purple", "light-warm-gray",
};

static const char *const tag_names[] = {
	"Brådskande", "Blockerad", "Kund", "Intern", "Bugg", "Förbättring", "Idé", "Fråga",
	"Q1", "Q2", "Q3", "Q4", "Budget", "Avtal", "Rekrytering", "Säkerhet", "Dokumentation",
	"Lansering", "Uppföljning", "Möte", "Granskning", "Väntar på svar", "Hög prioritet",
	"Låg prioritet", "Teknisk skuld", "Kampanj", "Leverantör", "Utbildning", "Miljö",
	"Dataskydd",
};

static const char *const project_actions[] = {
	"Lansering av", "Översyn av", "Införande av", "Upphandling av", "Förstudie för",
	"Migrering av", "Uppföljning av", "Planering av", "Utvärdering av", "Förnyelse av",
};

static const char *const project_objects[] = {
	"kundportalen", "lönesystemet", "webbplatsen", "CRM-systemet", "mobilappen",
	"prislistan", "leverantörsavtalen", "kontorslokalerna", "supportflödet",
	"introduktionsprogrammet", "designsystemet", "molnplattformen", "ekonomisystemet",
	"intranätet", "varumärket", "säkerhetsrutinerna", "kundenkäten", "lagersystemet",
	"betalflödet", "nyhetsbrevet",
};

static const char *const project_notes[] = {
	"Mål: klart före årsskiftet.",
	"Se projektplanen i den delade mappen.",
	"Avstämning varannan vecka på tisdagar.",
	"Budgeten är godkänd av ledningsgruppen.",
	"",
};

/* Section names by number of sections (2 to 5); the last one is for finished work. */
static const char *const section_sets[DEMO_MAX_SECTIONS - 1][DEMO_MAX_SECTIONS] = {
	{ "Att göra", "Klart" },
	{ "Att göra", "Pågår", "Klart" },
	{ "Backlogg", "Att göra", "Pågår", "Klart" },
	{ "Backlogg", "Att göra", "Pågår", "Granskning", "Klart" },
};

static const char *const task_verbs[] = {
	"Uppdatera", "Granska", "Skriv", "Planera", "Boka", "Förbered", "Sammanställ",
	"Följ upp", "Ta fram", "Testa", "Åtgärda", "Dokumentera", "Beställ", "Analysera",
	"Presentera", "Godkänn", "Skicka", "Revidera", "Kontrollera", "Publicera",
};

static const char *const task_objects[] = {
	"kvartalsrapport", "budgetprognos", "offert till kund", "leverantörsavtal",
	"lanseringsplan", "nyhetsbrev", "inloggningsflöde", "felrapport", "presentation",
	"kundenkät", "rekryteringsannons", "introduktionsmaterial", "prislista",
	"säkerhetsgranskning", "backup-rutin", "användartest", "produktbeskrivning",
	"årsplan", "fakturaunderlag", "avtalsmall", "behörighetslista", "driftsättning",
	"releaseanteckningar", "mötesanteckningar", "kravspecifikation", "styrelsematerial",
	"riskanalys", "utbildningsplan", "webbtexter", "API-dokumentation",
};

static const char *const subtask_names[] = {
	"Kontrollera siffrorna", "Skicka till granskning", "Inhämta synpunkter",
	"Uppdatera underlaget", "Boka avstämning", "Rätta stavfel", "Lägg in i systemet",
	"Informera berörda", "Arkivera gammal version", "Få godkännande",
	"Skriv sammanfattning", "Stäm av med Ekonomi",
};

static const char *const task_notes[] = {
	"Underlaget finns i den delade mappen.",
	"Se kommentarerna från förra veckans möte.",
	"Prioritera detta före nästa release.",
	"Kunden har bett om en uppdatering senast fredag.",
	"Kontakta Inköp om det behövs en ny beställning.",
	"Följ checklistan i vår wiki.",
};

static const char *const comment_texts[] = {
	"Jag tittar på det här i morgon.",
	"Kan du granska utkastet innan fredag?",
	"Klart från min sida.",
	"Vi behöver mer underlag från kunden.",
	"Jag har uppdaterat dokumentet med era synpunkter.",
	"Bra jobbat, tack!",
	"Det här blir försenat en vecka, leverantören har inte svarat.",
	"Lade till budgetsiffrorna i bilagan.",
	"Kan vi ta det på veckomötet?",
	"Jag har pratat med Juridik, de godkänner formuleringen.",
	"Kan någon ta över medan jag är på semester?",
	"Testat i förproduktion, ser bra ut.",
	"Påminnelse: deadline närmar sig.",
	"Jag ringde kunden, de återkommer på måndag.",
	"Uppdaterade prioriteten efter dagens avstämning.",
	"Skickade offerten till Inköp för godkännande.",
	"Hittade ett fel i beräkningen, rättar nu.",
	"Ser bra ut, jag godkänner.",
	"Behöver vi involvera Ekonomi här?",
	"Flyttar den här till nästa sprint.",
};

static const char *const assignee_statuses[] = { "inbox", "today", "upcoming", "later" };

/* ---------------------------------------------------------------- PRNG */

/* splitmix64 (Steele, Lea and Flood 2014): one 64-bit state, good enough for demo data. */
static uint64_t rng_next(uint64_t *state)
{
	uint64_t z;

	*state += 0x9e3779b97f4a7c15ULL;
	z = *state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in [0, n); the modulo bias is far below anything a demo shows. */
static int rng_below(uint64_t *state, int n)
{
	return (int)(rng_next(state) % (uint64_t)n);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *state)
{
	return (double)(rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

static int rng_chance(uint64_t *state, double p)
{
	return rng_unit(state) < p;
}

/* Uniform in [low, high]; returns low when the range is empty. */
static int64_t rng_between(uint64_t *state, int64_t low, int64_t high)
{
	if (high <= low)
		return low;
	return low + (int64_t)(rng_next(state) % (uint64_t)(high - low + 1));
}

/* ---------------------------------------------------------------- e-mail addresses */

/*
 * Writes the ASCII form of a UTF-8 name for an e-mail local part: letters
 * lowercased, å and ä to a, ö to o, é and è to e, ü to u, hyphens kept and
 * anything else dropped.
 */
static void ascii_fold(const char *text, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = 0;

	while (*p && n + 1 < outlen) {
		char c = 0;

		if (*p >= 'A' && *p <= 'Z') {
			c = (char)(*p - 'A' + 'a');
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-') {
			c = (char)*p;
		} else if (*p == 0xc3 && p[1] != 0) {
			p++;
			switch (*p) {
			case 0x84: case 0x85: case 0xa4: case 0xa5:
				c = 'a';
				break;
			case 0x96: case 0xb6:
				c = 'o';
				break;
			case 0x88: case 0x89: case 0xa8: case 0xa9:
				c = 'e';
				break;
			case 0x9c: case 0xbc:
				c = 'u';
				break;
			default:
				break;
			}
		}
		if (c != 0)
			out[n++] = c;
		p++;
	}
	out[n] = '\0';
}

/* An open-addressing set of strings, for unique e-mail local parts. */
struct name_set {
	char **slots;
	size_t cap; /* a power of two */
};

static int name_set_init(struct name_set *set, size_t expected)
{
	set->cap = 64;
	while (set->cap < expected * 2)
		set->cap *= 2;
	set->slots = calloc(set->cap, sizeof(*set->slots));
	return set->slots == NULL ? -1 : 0;
}

static void name_set_free(struct name_set *set)
{
	for (size_t i = 0; set->slots != NULL && i < set->cap; i++)
		free(set->slots[i]);
	free(set->slots);
	set->slots = NULL;
}

/* Adds a copy of `name`: 1 when added, 0 when already there, -1 when out of memory or full. */
static int name_set_add(struct name_set *set, const char *name)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	for (const char *p = name; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	for (size_t probe = 0; probe < set->cap; probe++) {
		i = (size_t)(h + probe) & (set->cap - 1);
		if (set->slots[i] == NULL) {
			set->slots[i] = strdup(name);
			return set->slots[i] == NULL ? -1 : 1;
		}
		if (strcmp(set->slots[i], name) == 0)
			return 0;
	}
	return -1;
}

/* ---------------------------------------------------------------- generator state */

enum demo_role { ROLE_SUPER_ADMIN, ROLE_ADMIN, ROLE_MEMBER, ROLE_GUEST };

static const char *const role_names[] = { "super_admin", "admin", "member", "guest" };

struct person {
	int64_t gid;
	char *name;
	enum demo_role role;
};

struct team {
	int64_t gid;
	int64_t created_at;
	int *members; /* indexes into gen.people */
	int nmembers;
	int cap;
};

struct gen {
	db_conn *conn;
	const struct demo_size *size;
	uint64_t rng;
	int64_t now;
	int64_t org;
	int batch_rows;
	int bind_status; /* first failed bind of the statement being built */
	struct demo_result *result;
	char *err;
	size_t errlen;

	struct person *people;
	int npeople;
	struct team *teams;
	int nteams;
	int64_t tags[COUNT(tag_names)];
	int64_t division;
	struct name_set emails;
	int *guest_projects; /* two project indexes per guest */
};

/* Per-project state that task generation draws from. */
struct project_ctx {
	int64_t gid;
	int64_t created_at;
	int64_t modified_at;
	int archived;
	double completed_chance;
	const int *pool; /* people who create, follow and are assigned the tasks */
	int npool;
	int64_t sections[DEMO_MAX_SECTIONS];
	int nsections;
	int64_t next_position;
};

enum story_kind { STORY_COMMENT, STORY_ASSIGNED, STORY_COMPLETED };

struct story {
	int64_t at;
	int author;
	enum story_kind kind;
	int text;
};

/* ---------------------------------------------------------------- statement helpers */

/* Records and logs a failed step with the connection's error message; returns status. */
static int gen_fail(struct gen *g, int status, const char *step)
{
	snprintf(g->err, g->errlen, "demo data: %s failed: %s", step, db_conn_errmsg(g->conn));
	log_error("demo", "demo data generation failed", "step", step, "error", db_conn_errmsg(g->conn), NULL);
	return status;
}

static void bind_int(struct gen *g, db_stmt *s, int index, int64_t value)
{
	int status = db_bind_int64(s, index, value);

	if (status != DB_OK && g->bind_status == DB_OK)
		g->bind_status = status;
}

/* Binds 0 as NULL, for optional gids. */
static void bind_gid(struct gen *g, db_stmt *s, int index, int64_t gid)
{
	int status = db_bind_gid(s, index, gid);

	if (status != DB_OK && g->bind_status == DB_OK)
		g->bind_status = status;
}

/* Binds NULL for a NULL pointer. */
static void bind_text(struct gen *g, db_stmt *s, int index, const char *text)
{
	int status = db_bind_text(s, index, text);

	if (status != DB_OK && g->bind_status == DB_OK)
		g->bind_status = status;
}

/* Commits every DEMO_BATCH_ROWS rows and opens the next transaction. */
static int batch_tick(struct gen *g)
{
	int status;

	if (++g->batch_rows < DEMO_BATCH_ROWS)
		return DB_OK;
	g->batch_rows = 0;

	status = db_commit(g->conn);
	if (status != DB_OK)
		return gen_fail(g, status, "commit");
	status = db_begin_write(g->conn);
	if (status != DB_OK)
		return gen_fail(g, status, "begin");
	return DB_OK;
}

/* Runs an INSERT whose parameters are bound, then counts it toward the batch. */
static int insert_run(struct gen *g, db_stmt *s, const char *step)
{
	int status = g->bind_status;

	g->bind_status = DB_OK;
	if (status != DB_OK) {
		db_stmt_done(s);
		return gen_fail(g, status, step);
	}
	status = db_run(s);
	if (status != DB_OK)
		return gen_fail(g, status, step);
	return batch_tick(g);
}

/* Writes the calendar date (UTC) of a time as YYYY-MM-DD. */
static void format_date(int64_t us, char *buf, size_t len)
{
	time_t secs = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, len, "%Y-%m-%d", &tm);
}

/* ---------------------------------------------------------------- organization and people */

static int insert_organization(struct gen *g)
{
	db_stmt *s;
	int status;

	g->org = gid_next();
	s = db_query(g->conn, "INSERT INTO workspaces (gid, name, is_organization, plan, email_domains, created_at)"
			      " VALUES (?, ?, 1, ?, ?, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into workspaces");
	bind_int(g, s, 0, g->org);
	bind_text(g, s, 1, ORG_NAME);
	bind_text(g, s, 2, ORG_PLAN);
	bind_text(g, s, 3, ORG_DOMAIN);
	bind_int(g, s, 4, g->now - 740 * DAY_US);
	status = insert_run(g, s, "insert into workspaces");
	if (status != DB_OK)
		return status;

	g->division = gid_next();
	s = db_query(g->conn, "INSERT INTO divisions (gid, workspace_gid, name, plan, created_at) VALUES (?, ?, ?, ?, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into divisions");
	bind_int(g, s, 0, g->division);
	bind_int(g, s, 1, g->org);
	bind_text(g, s, 2, DIVISION_NAME);
	bind_text(g, s, 3, DIVISION_PLAN);
	bind_int(g, s, 4, g->now - 700 * DAY_US);
	status = insert_run(g, s, "insert into divisions");
	if (status != DB_OK)
		return status;

	g->result->org_gid = g->org;
	g->result->division_gid = g->division;
	return DB_OK;
}

static int insert_person(struct gen *g, struct person *p, const char *email, int64_t created_at)
{
	db_stmt *s;
	int status;

	p->gid = gid_next();

	/* Generated addresses are lowercase ASCII already, so email_lower is the same text. */
	s = db_query(g->conn, "INSERT INTO users (gid, workspace_gid, email, email_lower, name, kind, created_at, modified_at)"
			      " VALUES (?, ?, ?, ?, ?, 'person', ?, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into users");
	bind_int(g, s, 0, p->gid);
	bind_int(g, s, 1, g->org);
	bind_text(g, s, 2, email);
	bind_text(g, s, 3, email);
	bind_text(g, s, 4, p->name);
	bind_int(g, s, 5, created_at);
	bind_int(g, s, 6, created_at);
	status = insert_run(g, s, "insert into users");
	if (status != DB_OK)
		return status;

	s = db_query(g->conn, "INSERT INTO workspace_memberships (gid, workspace_gid, user_gid, role, is_active, created_at)"
			      " VALUES (?, ?, ?, ?, 1, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into workspace_memberships");
	bind_int(g, s, 0, gid_next());
	bind_int(g, s, 1, g->org);
	bind_int(g, s, 2, p->gid);
	bind_text(g, s, 3, role_names[p->role]);
	bind_int(g, s, 4, created_at);
	status = insert_run(g, s, "insert into workspace_memberships");
	if (status != DB_OK)
		return status;

	g->result->users++;
	if (p->role == ROLE_ADMIN)
		g->result->admins++;
	else if (p->role == ROLE_GUEST)
		g->result->guests++;
	return DB_OK;
}

/*
 * Picks a Swedish name and a unique address for it: first.last, then
 * first.last2, first.last3 and so on when the address is taken. On failure
 * (out of memory) p->name is NULL.
 */
static int make_person(struct gen *g, struct person *p, const char *domain, char *email, size_t emaillen)
{
	const char *first = first_names[rng_below(&g->rng, COUNT(first_names))];
	const char *last = last_names[rng_below(&g->rng, COUNT(last_names))];
	char first_ascii[48], last_ascii[48], local[DEMO_EMAIL_MAX - 16];
	size_t namelen = strlen(first) + strlen(last) + 2;
	int added;

	p->name = malloc(namelen);
	if (p->name == NULL)
		return -1;
	snprintf(p->name, namelen, "%s %s", first, last);

	ascii_fold(first, first_ascii, sizeof(first_ascii));
	ascii_fold(last, last_ascii, sizeof(last_ascii));
	snprintf(local, sizeof(local), "%s.%s", first_ascii, last_ascii);
	added = name_set_add(&g->emails, local);
	for (int n = 2; added == 0; n++) {
		snprintf(local, sizeof(local), "%s.%s%d", first_ascii, last_ascii, n);
		added = name_set_add(&g->emails, local);
	}
	if (added < 0) {
		free(p->name);
		p->name = NULL;
		return -1;
	}
	snprintf(email, emaillen, "%s@%s", local, domain);
	return 0;
}

/*
 * People in a fixed order: the super admin, the division admin (a member),
 * the admins, the members, and last the guests with addresses outside the
 * organization's domain.
 */
static int create_people(struct gen *g)
{
	const struct demo_size *sz = g->size;
	char email[DEMO_EMAIL_MAX];
	int status;

	g->people = calloc((size_t)sz->people, sizeof(*g->people));
	if (g->people == NULL || name_set_init(&g->emails, (size_t)sz->people) != 0)
		return gen_fail(g, DB_ERROR, "allocating people");
	g->npeople = sz->people;

	for (int i = 0; i < sz->people; i++) {
		struct person *p = &g->people[i];
		int64_t created_at = rng_between(&g->rng, g->now - 725 * DAY_US, g->now - 30 * DAY_US);

		if (i == 0) {
			p->role = ROLE_SUPER_ADMIN;
			p->name = strdup(SUPER_ADMIN_NAME);
			snprintf(email, sizeof(email), "%s", SUPER_ADMIN_EMAIL);
			created_at = g->now - 730 * DAY_US;
		} else if (i == 1) {
			p->role = ROLE_MEMBER;
			p->name = strdup(DIVISION_ADMIN_NAME);
			snprintf(email, sizeof(email), "%s", DIVISION_ADMIN_EMAIL);
		} else {
			int is_guest = i >= sz->people - sz->guests;

			if (is_guest)
				p->role = ROLE_GUEST;
			else if (i < 2 + sz->admins)
				p->role = ROLE_ADMIN;
			else
				p->role = ROLE_MEMBER;
			make_person(g, p, is_guest ? GUEST_DOMAIN : ORG_DOMAIN, email, sizeof(email));
		}
		if (p->name == NULL)
			return gen_fail(g, DB_ERROR, "allocating people");

		status = insert_person(g, p, email, created_at);
		if (status != DB_OK)
			return status;
		if (i == 0) {
			g->result->super_admin_gid = p->gid;
			snprintf(g->result->super_admin_email, sizeof(g->result->super_admin_email), "%s", email);
		}
	}
	return DB_OK;
}

/* ---------------------------------------------------------------- teams and tags */

static int team_has(const struct team *t, int person)
{
	for (int i = 0; i < t->nmembers; i++)
		if (t->members[i] == person)
			return 1;
	return 0;
}

/* Adds a person to a team unless already there; the first member becomes a team admin. */
static int join_team(struct gen *g, struct team *t, int person)
{
	db_stmt *s;

	if (team_has(t, person))
		return DB_OK;
	if (t->nmembers == t->cap) {
		int cap = t->cap ? t->cap * 2 : 16;
		int *members = realloc(t->members, (size_t)cap * sizeof(*members));

		if (members == NULL)
			return gen_fail(g, DB_ERROR, "allocating team members");
		t->members = members;
		t->cap = cap;
	}
	t->members[t->nmembers++] = person;

	s = db_query(g->conn, "INSERT INTO team_memberships (gid, workspace_gid, team_gid, user_gid, is_admin, is_guest, created_at)"
			      " VALUES (?, ?, ?, ?, ?, 0, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into team_memberships");
	bind_int(g, s, 0, gid_next());
	bind_int(g, s, 1, g->org);
	bind_int(g, s, 2, t->gid);
	bind_int(g, s, 3, g->people[person].gid);
	bind_int(g, s, 4, t->nmembers == 1);
	bind_int(g, s, 5, rng_between(&g->rng, t->created_at, g->now - 30 * DAY_US));
	g->result->team_memberships++;
	return insert_run(g, s, "insert into team_memberships");
}

static int team_in_division(const struct gen *g, int function, int city)
{
	if (g->size->cities == 1)
		return function == FUNCTION_DRIFT || function == FUNCTION_KUNDTJANST;
	return city >= g->size->cities - DIVISION_CITIES;
}

static int insert_team(struct gen *g, struct team *t, int function, int city)
{
	char name[128], html[256];
	int in_division = team_in_division(g, function, city);
	const char *visibility;
	db_stmt *s;

	if (g->size->cities == 1)
		snprintf(name, sizeof(name), "%s", team_functions[function]);
	else
		snprintf(name, sizeof(name), "%s %s", team_functions[function], cities[city]);
	snprintf(html, sizeof(html), "<body>%s</body>", team_descriptions[function]);
	if (function == FUNCTION_LEDNING)
		visibility = "secret";
	else
		visibility = rng_chance(&g->rng, 0.3) ? "public" : "request_to_join";
	t->gid = gid_next();
	t->created_at = rng_between(&g->rng, g->now - 730 * DAY_US, g->now - 700 * DAY_US);

	s = db_query(g->conn, "INSERT INTO teams (gid, workspace_gid, division_gid, name, description, html_description,"
			      " visibility, created_at, modified_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into teams");
	bind_int(g, s, 0, t->gid);
	bind_int(g, s, 1, g->org);
	bind_gid(g, s, 2, in_division ? g->division : 0);
	bind_text(g, s, 3, name);
	bind_text(g, s, 4, team_descriptions[function]);
	bind_text(g, s, 5, html);
	bind_text(g, s, 6, visibility);
	bind_int(g, s, 7, t->created_at);
	bind_int(g, s, 8, t->created_at);
	g->result->teams++;
	if (in_division)
		g->result->division_teams++;
	return insert_run(g, s, "insert into teams");
}

/*
 * Teams and their members. Every member and admin joins one team (the
 * first ones go round-robin so no team is empty) and some join a second.
 * The super admin joins every Ledning team and the division admin the first
 * two teams of the division. Guests join no team; they are added to
 * projects instead.
 */
static int create_teams(struct gen *g)
{
	int nfunctions = COUNT(team_functions);
	int division_joined = 0;
	int k = 0;
	int status;

	g->nteams = nfunctions * g->size->cities;
	g->teams = calloc((size_t)g->nteams, sizeof(*g->teams));
	if (g->teams == NULL)
		return gen_fail(g, DB_ERROR, "allocating teams");

	for (int i = 0; i < g->nteams; i++) {
		status = insert_team(g, &g->teams[i], i % nfunctions, i / nfunctions);
		if (status != DB_OK)
			return status;
	}

	for (int i = 0; i < g->nteams; i++) {
		int function = i % nfunctions;

		if (function == FUNCTION_LEDNING) {
			status = join_team(g, &g->teams[i], 0);
			if (status != DB_OK)
				return status;
		}
		if (division_joined < 2 && team_in_division(g, function, i / nfunctions)) {
			status = join_team(g, &g->teams[i], 1);
			if (status != DB_OK)
				return status;
			division_joined++;
		}
	}

	for (int i = 2; i < g->npeople; i++) {
		int first;

		if (g->people[i].role == ROLE_GUEST)
			continue;
		first = k < g->nteams ? k : rng_below(&g->rng, g->nteams);
		k++;
		status = join_team(g, &g->teams[first], i);
		if (status != DB_OK)
			return status;
		if (rng_chance(&g->rng, 0.3)) {
			status = join_team(g, &g->teams[rng_below(&g->rng, g->nteams)], i);
			if (status != DB_OK)
				return status;
		}
	}
	return DB_OK;
}

static int create_division_admin(struct gen *g)
{
	db_stmt *s;

	s = db_query(g->conn, "INSERT INTO division_admins (workspace_gid, division_gid, user_gid) VALUES (?, ?, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into division_admins");
	bind_int(g, s, 0, g->org);
	bind_int(g, s, 1, g->division);
	bind_int(g, s, 2, g->people[1].gid);
	return insert_run(g, s, "insert into division_admins");
}

static int create_tags(struct gen *g)
{
	for (int i = 0; i < COUNT(tag_names); i++) {
		db_stmt *s;
		int status;

		g->tags[i] = gid_next();
		s = db_query(g->conn, "INSERT INTO tags (gid, workspace_gid, name, color, notes, created_by, created_at)"
				      " VALUES (?, ?, ?, ?, '', ?, ?)");
		if (s == NULL)
			return gen_fail(g, DB_ERROR, "insert into tags");
		bind_int(g, s, 0, g->tags[i]);
		bind_int(g, s, 1, g->org);
		bind_text(g, s, 2, tag_names[i]);
		bind_text(g, s, 3, colors[rng_below(&g->rng, COUNT(colors))]);
		bind_int(g, s, 4, g->people[0].gid);
		bind_int(g, s, 5, rng_between(&g->rng, g->now - 720 * DAY_US, g->now - 600 * DAY_US));
		status = insert_run(g, s, "insert into tags");
		if (status != DB_OK)
			return status;
		g->result->tags++;
	}
	return DB_OK;
}

/* ---------------------------------------------------------------- tasks */

static int list_has(const int *list, int n, int value)
{
	for (int i = 0; i < n; i++)
		if (list[i] == value)
			return 1;
	return 0;
}

static int insert_task_follower(struct gen *g, int64_t task, int person)
{
	db_stmt *s = db_query(g->conn, "INSERT INTO task_followers (workspace_gid, task_gid, user_gid) VALUES (?, ?, ?)");

	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into task_followers");
	bind_int(g, s, 0, g->org);
	bind_int(g, s, 1, task);
	bind_int(g, s, 2, g->people[person].gid);
	g->result->task_followers++;
	return insert_run(g, s, "insert into task_followers");
}

static int insert_task_tag(struct gen *g, int64_t task, int tag)
{
	db_stmt *s = db_query(g->conn, "INSERT INTO task_tags (workspace_gid, task_gid, tag_gid) VALUES (?, ?, ?)");

	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into task_tags");
	bind_int(g, s, 0, g->org);
	bind_int(g, s, 1, task);
	bind_int(g, s, 2, g->tags[tag]);
	g->result->task_tags++;
	return insert_run(g, s, "insert into task_tags");
}

static int insert_story(struct gen *g, int64_t task, const struct story *st, int assignee)
{
	char text[256], html[300];
	const char *type = "system";
	const char *subtype;
	db_stmt *s;

	switch (st->kind) {
	case STORY_COMMENT:
		type = "comment";
		subtype = "comment_added";
		snprintf(text, sizeof(text), "%s", comment_texts[st->text]);
		snprintf(html, sizeof(html), "<body>%s</body>", text);
		g->result->comments++;
		break;
	case STORY_ASSIGNED:
		subtype = "assigned";
		snprintf(text, sizeof(text), "assigned to %s", g->people[assignee].name);
		g->result->system_stories++;
		break;
	default:
		subtype = "marked_complete";
		snprintf(text, sizeof(text), "marked this task complete");
		g->result->system_stories++;
		break;
	}

	s = db_query(g->conn, "INSERT INTO stories (gid, workspace_gid, task_gid, type, resource_subtype, text, html_text,"
			      " created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into stories");
	bind_int(g, s, 0, gid_next());
	bind_int(g, s, 1, g->org);
	bind_int(g, s, 2, task);
	bind_text(g, s, 3, type);
	bind_text(g, s, 4, subtype);
	bind_text(g, s, 5, text);
	bind_text(g, s, 6, st->kind == STORY_COMMENT ? html : NULL);
	bind_int(g, s, 7, g->people[st->author].gid);
	bind_int(g, s, 8, st->at);
	return insert_run(g, s, "insert into stories");
}

/*
 * One task, or a subtask when parent is nonzero, with its followers, tags
 * and stories. Only top-level tasks are placed in the project; subtasks
 * hang under their parent, as in Asana. *created_r receives the creation
 * time, so subtasks can be created after their parent.
 */
static int create_task(struct gen *g, struct project_ctx *pc, int64_t parent, int64_t parent_created,
		       int64_t position, int64_t *gid_r, int64_t *created_r)
{
	int64_t gid = gid_next();
	int64_t created = rng_between(&g->rng, parent ? parent_created : pc->created_at, pc->modified_at);
	int64_t modified = rng_between(&g->rng, created, pc->modified_at);
	int creator = pc->pool[rng_below(&g->rng, pc->npool)];
	int assignee = rng_chance(&g->rng, 0.85) ? pc->pool[rng_below(&g->rng, pc->npool)] : -1;
	int completed = rng_chance(&g->rng, pc->completed_chance);
	int64_t completed_at = completed ? rng_between(&g->rng, created, modified) : 0;
	int completed_by = assignee >= 0 ? assignee : creator;
	int followers[DEMO_MAX_FOLLOWERS];
	int nfollowers = 0, want_followers = 1 + rng_below(&g->rng, DEMO_MAX_FOLLOWERS);
	struct story stories[DEMO_MAX_STORIES];
	int nstories = 0, ncomments = 0;
	char name[192], due_on[16], notes_html[256];
	const char *notes = "";
	int64_t section = 0;
	double r;
	db_stmt *s;
	int status;

	/* Name, notes, due date and, for top-level tasks, the section (finished work sits in the last one). */
	if (parent)
		snprintf(name, sizeof(name), "%s", subtask_names[rng_below(&g->rng, COUNT(subtask_names))]);
	else
		snprintf(name, sizeof(name), "%s %s", task_verbs[rng_below(&g->rng, COUNT(task_verbs))],
			 task_objects[rng_below(&g->rng, COUNT(task_objects))]);
	if (rng_chance(&g->rng, 0.25))
		notes = task_notes[rng_below(&g->rng, COUNT(task_notes))];
	snprintf(notes_html, sizeof(notes_html), "<body>%s</body>", notes);
	due_on[0] = '\0';
	if (rng_chance(&g->rng, 0.6))
		format_date(created + rng_between(&g->rng, 2 * DAY_US, 60 * DAY_US), due_on, sizeof(due_on));
	if (!parent)
		section = completed ? pc->sections[pc->nsections - 1]
				    : pc->sections[rng_below(&g->rng, pc->nsections - 1)];

	s = db_query(g->conn, "INSERT INTO tasks (gid, workspace_gid, name, notes, html_notes, resource_subtype,"
			      " assignee_gid, assignee_status, assigned_by, completed, completed_at, completed_by, due_on,"
			      " parent_gid, position, created_by, created_at, modified_at)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into tasks");
	bind_int(g, s, 0, gid);
	bind_int(g, s, 1, g->org);
	bind_text(g, s, 2, name);
	bind_text(g, s, 3, notes);
	bind_text(g, s, 4, notes[0] ? notes_html : "");
	bind_text(g, s, 5, !parent && rng_chance(&g->rng, 0.02) ? "milestone" : "default_task");
	bind_gid(g, s, 6, assignee >= 0 ? g->people[assignee].gid : 0);
	bind_text(g, s, 7, assignee >= 0 ? assignee_statuses[rng_below(&g->rng, COUNT(assignee_statuses))] : "inbox");
	bind_gid(g, s, 8, assignee >= 0 ? g->people[creator].gid : 0);
	bind_int(g, s, 9, completed);
	bind_gid(g, s, 10, completed_at);
	bind_gid(g, s, 11, completed ? g->people[completed_by].gid : 0);
	bind_text(g, s, 12, due_on[0] ? due_on : NULL);
	bind_gid(g, s, 13, parent);
	bind_int(g, s, 14, position);
	bind_int(g, s, 15, g->people[creator].gid);
	bind_int(g, s, 16, created);
	bind_int(g, s, 17, modified);
	status = insert_run(g, s, "insert into tasks");
	if (status != DB_OK)
		return status;
	g->result->tasks++;
	if (parent)
		g->result->subtasks++;
	if (completed)
		g->result->completed_tasks++;
	if (g->result->tasks % DEMO_PROGRESS_TASKS == 0)
		log_info("demo", "demo tasks created", "tasks", LOG_INT(g->result->tasks), NULL);

	if (!parent) {
		s = db_query(g->conn, "INSERT INTO task_projects (workspace_gid, task_gid, project_gid, section_gid, position)"
				      " VALUES (?, ?, ?, ?, ?)");
		if (s == NULL)
			return gen_fail(g, DB_ERROR, "insert into task_projects");
		bind_int(g, s, 0, g->org);
		bind_int(g, s, 1, gid);
		bind_int(g, s, 2, pc->gid);
		bind_int(g, s, 3, section);
		bind_int(g, s, 4, position);
		status = insert_run(g, s, "insert into task_projects");
		if (status != DB_OK)
			return status;
		g->result->task_projects++;
	}

	/* Followers: the assignee, the creator, then others from the pool, 1 to 3 in all. */
	if (assignee >= 0)
		followers[nfollowers++] = assignee;
	if (nfollowers < want_followers && !list_has(followers, nfollowers, creator))
		followers[nfollowers++] = creator;
	for (int tries = 0; nfollowers < want_followers && tries < 4; tries++) {
		int person = pc->pool[rng_below(&g->rng, pc->npool)];

		if (!list_has(followers, nfollowers, person))
			followers[nfollowers++] = person;
	}
	for (int i = 0; i < nfollowers; i++) {
		status = insert_task_follower(g, gid, followers[i]);
		if (status != DB_OK)
			return status;
	}

	/* Tags on top-level tasks: none for half of them, else one or two. */
	r = rng_unit(&g->rng);
	if (!parent && r >= 0.5) {
		int first = rng_below(&g->rng, COUNT(tag_names));

		status = insert_task_tag(g, gid, first);
		if (status != DB_OK)
			return status;
		if (r >= 0.8) {
			int second = (first + 1 + rng_below(&g->rng, COUNT(tag_names) - 1)) % COUNT(tag_names);

			status = insert_task_tag(g, gid, second);
			if (status != DB_OK)
				return status;
		}
	}

	/* Stories: about one comment per two tasks, plus system stories, inserted oldest first. */
	if (assignee >= 0 && rng_chance(&g->rng, 0.2))
		stories[nstories++] = (struct story){ created, creator, STORY_ASSIGNED, 0 };
	r = rng_unit(&g->rng);
	if (r < 0.25)
		ncomments = 1;
	else if (r < 0.33)
		ncomments = 2;
	else if (r < 0.36)
		ncomments = 3;
	for (int n = 0; n < ncomments; n++)
		stories[nstories++] = (struct story){ rng_between(&g->rng, created, modified),
						      followers[rng_below(&g->rng, nfollowers)], STORY_COMMENT,
						      rng_below(&g->rng, COUNT(comment_texts)) };
	if (completed)
		stories[nstories++] = (struct story){ completed_at, completed_by, STORY_COMPLETED, 0 };
	for (int i = 1; i < nstories; i++)
		for (int j = i; j > 0 && stories[j].at < stories[j - 1].at; j--) {
			struct story tmp = stories[j];

			stories[j] = stories[j - 1];
			stories[j - 1] = tmp;
		}
	for (int i = 0; i < nstories; i++) {
		status = insert_story(g, gid, &stories[i], assignee);
		if (status != DB_OK)
			return status;
	}

	*gid_r = gid;
	*created_r = created;
	return DB_OK;
}

/* Tasks of one project until `budget` tasks exist; about 10% get 1 to 4 subtasks. */
static int create_project_tasks(struct gen *g, struct project_ctx *pc, int64_t budget)
{
	int64_t used = 0;
	int status;

	while (used < budget) {
		int64_t task, created;
		int subtasks;

		pc->next_position += DEMO_POSITION_STEP;
		status = create_task(g, pc, 0, 0, pc->next_position, &task, &created);
		if (status != DB_OK)
			return status;
		used++;
		if (used == budget || !rng_chance(&g->rng, 0.10))
			continue;

		subtasks = 1 + rng_below(&g->rng, 4);
		if (subtasks > budget - used)
			subtasks = (int)(budget - used);
		for (int i = 0; i < subtasks; i++) {
			int64_t subtask, subtask_created;

			status = create_task(g, pc, task, created, (int64_t)(i + 1) * DEMO_POSITION_STEP, &subtask,
					     &subtask_created);
			if (status != DB_OK)
				return status;
		}
		used += subtasks;
	}
	return DB_OK;
}

/* ---------------------------------------------------------------- projects */

static int insert_project_member(struct gen *g, int64_t project, int person, const char *access_level,
				 int64_t created_at)
{
	db_stmt *s = db_query(g->conn, "INSERT INTO project_memberships (gid, workspace_gid, project_gid, user_gid,"
				       " access_level, created_at) VALUES (?, ?, ?, ?, ?, ?)");

	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into project_memberships");
	bind_int(g, s, 0, gid_next());
	bind_int(g, s, 1, g->org);
	bind_int(g, s, 2, project);
	bind_int(g, s, 3, g->people[person].gid);
	bind_text(g, s, 4, access_level);
	bind_int(g, s, 5, created_at);
	g->result->project_memberships++;
	return insert_run(g, s, "insert into project_memberships");
}

/*
 * Project members: the owner as admin, then team members as editors or
 * commenters (more of them for private projects, which only members see),
 * then the guests assigned to this project. Fills `members` with the
 * non-guest members, which is the task pool of a private project.
 */
static int create_project_members(struct gen *g, struct project_ctx *pc, int index, const struct team *t,
				  int owner, int is_private, int *members, int *nmembers_r)
{
	int nmembers = 0;
	int extra = is_private ? 2 + rng_below(&g->rng, 5) : 1 + rng_below(&g->rng, 4);
	int status;

	status = insert_project_member(g, pc->gid, owner, "admin", pc->created_at);
	if (status != DB_OK)
		return status;
	members[nmembers++] = owner;

	for (int i = 0; i < extra && nmembers < t->nmembers; i++) {
		int person = t->members[rng_below(&g->rng, t->nmembers)];
		const char *access = rng_chance(&g->rng, 0.8) ? "editor" : "commenter";

		if (list_has(members, nmembers, person))
			continue;
		status = insert_project_member(g, pc->gid, person, access,
					       rng_between(&g->rng, pc->created_at, pc->modified_at));
		if (status != DB_OK)
			return status;
		members[nmembers++] = person;
	}

	for (int i = 0; i < 2 * g->size->guests; i++) {
		int guest = g->npeople - g->size->guests + i / 2;

		if (g->guest_projects[i] != index || (i % 2 == 1 && g->guest_projects[i - 1] == index))
			continue;
		status = insert_project_member(g, pc->gid, guest, "commenter", pc->created_at);
		if (status != DB_OK)
			return status;
	}

	*nmembers_r = nmembers;
	return DB_OK;
}

static int create_sections(struct gen *g, struct project_ctx *pc)
{
	pc->nsections = 2 + rng_below(&g->rng, DEMO_MAX_SECTIONS - 1);
	for (int i = 0; i < pc->nsections; i++) {
		db_stmt *s;
		int status;

		pc->sections[i] = gid_next();
		s = db_query(g->conn, "INSERT INTO sections (gid, workspace_gid, project_gid, name, position, created_at)"
				      " VALUES (?, ?, ?, ?, ?, ?)");
		if (s == NULL)
			return gen_fail(g, DB_ERROR, "insert into sections");
		bind_int(g, s, 0, pc->sections[i]);
		bind_int(g, s, 1, g->org);
		bind_int(g, s, 2, pc->gid);
		bind_text(g, s, 3, section_sets[pc->nsections - 2][i]);
		bind_int(g, s, 4, (int64_t)(i + 1) * DEMO_POSITION_STEP);
		bind_int(g, s, 5, pc->created_at);
		status = insert_run(g, s, "insert into sections");
		if (status != DB_OK)
			return status;
		g->result->sections++;
	}
	return DB_OK;
}

/*
 * One project with its members, follower, sections and `budget` tasks.
 * About 10% are archived and 15% untouched for over 120 days, with all their
 * tasks and stories older than that too. Privacy: 10% private, 20% shared
 * with the team only, the rest public to the organization.
 */
static int create_project(struct gen *g, int index, int64_t budget, int *members)
{
	struct project_ctx pc = { 0 };
	const struct team *t = &g->teams[rng_below(&g->rng, g->nteams)];
	int owner = t->members[rng_below(&g->rng, t->nmembers)];
	int untouched = rng_chance(&g->rng, 0.15);
	double r = rng_unit(&g->rng);
	const char *privacy = "public_to_workspace";
	int is_private = r < 0.10;
	int completed;
	int64_t completed_at;
	char name[192], due_on[16], start_on[16];
	const char *notes = project_notes[rng_below(&g->rng, COUNT(project_notes))];
	char notes_html[256];
	int nmembers = 0;
	db_stmt *s;
	int status;

	if (is_private)
		privacy = "private";
	else if (r < 0.30)
		privacy = "private_to_team";
	pc.gid = gid_next();
	pc.archived = rng_chance(&g->rng, 0.10);
	if (untouched) {
		pc.created_at = g->now - rng_between(&g->rng, 200 * DAY_US, 700 * DAY_US);
		pc.modified_at = rng_between(&g->rng, pc.created_at + 10 * DAY_US, g->now - (UNTOUCHED_DAYS + 1) * DAY_US);
	} else {
		pc.created_at = g->now - rng_between(&g->rng, 30 * DAY_US, 700 * DAY_US);
		pc.modified_at = g->now - rng_between(&g->rng, 0, 14 * DAY_US);
	}
	pc.completed_chance = 0.35;
	if (pc.archived)
		pc.completed_chance = 0.9;
	else if (untouched)
		pc.completed_chance = 0.7;
	completed = pc.archived && rng_chance(&g->rng, 0.7);
	completed_at = completed ? pc.modified_at : 0;

	snprintf(name, sizeof(name), "%s %s", project_actions[rng_below(&g->rng, COUNT(project_actions))],
		 project_objects[rng_below(&g->rng, COUNT(project_objects))]);
	if (rng_chance(&g->rng, 0.3)) {
		size_t len = strlen(name);

		snprintf(name + len, sizeof(name) - len, ", etapp %d", 2 + rng_below(&g->rng, 3));
	}
	snprintf(notes_html, sizeof(notes_html), "<body>%s</body>", notes);
	due_on[0] = start_on[0] = '\0';
	if (rng_chance(&g->rng, 0.4)) {
		format_date(pc.created_at, start_on, sizeof(start_on));
		format_date(pc.created_at + rng_between(&g->rng, 30 * DAY_US, 180 * DAY_US), due_on, sizeof(due_on));
	}

	s = db_query(g->conn, "INSERT INTO projects (gid, workspace_gid, team_gid, name, notes, html_notes, color,"
			      " default_view, archived, completed, completed_at, privacy_setting, owner_gid, created_by,"
			      " due_on, start_on, created_at, modified_at)"
			      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into projects");
	bind_int(g, s, 0, pc.gid);
	bind_int(g, s, 1, g->org);
	bind_int(g, s, 2, t->gid);
	bind_text(g, s, 3, name);
	bind_text(g, s, 4, notes);
	bind_text(g, s, 5, notes[0] ? notes_html : "");
	bind_text(g, s, 6, colors[rng_below(&g->rng, COUNT(colors))]);
	bind_text(g, s, 7, rng_chance(&g->rng, 0.25) ? "board" : "list");
	bind_int(g, s, 8, pc.archived);
	bind_int(g, s, 9, completed);
	bind_gid(g, s, 10, completed_at);
	bind_text(g, s, 11, privacy);
	bind_int(g, s, 12, g->people[owner].gid);
	bind_int(g, s, 13, g->people[owner].gid);
	bind_text(g, s, 14, due_on[0] ? due_on : NULL);
	bind_text(g, s, 15, start_on[0] ? start_on : NULL);
	bind_int(g, s, 16, pc.created_at);
	bind_int(g, s, 17, pc.modified_at);
	status = insert_run(g, s, "insert into projects");
	if (status != DB_OK)
		return status;
	g->result->projects++;
	g->result->archived_projects += pc.archived;
	g->result->untouched_projects += untouched;
	g->result->private_projects += is_private;

	s = db_query(g->conn, "INSERT INTO project_followers (workspace_gid, project_gid, user_gid) VALUES (?, ?, ?)");
	if (s == NULL)
		return gen_fail(g, DB_ERROR, "insert into project_followers");
	bind_int(g, s, 0, g->org);
	bind_int(g, s, 1, pc.gid);
	bind_int(g, s, 2, g->people[owner].gid);
	status = insert_run(g, s, "insert into project_followers");
	if (status != DB_OK)
		return status;
	g->result->project_followers++;

	status = create_project_members(g, &pc, index, t, owner, is_private, members, &nmembers);
	if (status != DB_OK)
		return status;
	status = create_sections(g, &pc);
	if (status != DB_OK)
		return status;

	/* Private projects are worked on by their members only; the others by the whole team. */
	pc.pool = is_private ? members : t->members;
	pc.npool = is_private ? nmembers : t->nmembers;
	return create_project_tasks(g, &pc, budget);
}

/*
 * Projects with their share of the tasks. Shares are random weights from
 * 0.3 to 1.7, rounded on the running sum, so they add up to the exact task
 * count of the size.
 */
static int create_projects(struct gen *g)
{
	int n = g->size->projects;
	double *weights = malloc((size_t)n * sizeof(*weights));
	int *members = malloc((size_t)g->npeople * sizeof(*members));
	double total = 0, running = 0;
	int64_t assigned = 0;
	int status = DB_OK;

	g->guest_projects = malloc((size_t)(2 * g->size->guests + 1) * sizeof(*g->guest_projects));
	if (weights == NULL || members == NULL || g->guest_projects == NULL) {
		free(weights);
		free(members);
		return gen_fail(g, DB_ERROR, "allocating projects");
	}
	for (int i = 0; i < n; i++) {
		weights[i] = 0.3 + 1.4 * rng_unit(&g->rng);
		total += weights[i];
	}
	/* Each guest works in one project, and half of them in a second one. */
	for (int i = 0; i < g->size->guests; i++) {
		g->guest_projects[2 * i] = rng_below(&g->rng, n);
		g->guest_projects[2 * i + 1] = rng_chance(&g->rng, 0.5) ? rng_below(&g->rng, n) : -1;
	}

	for (int i = 0; i < n && status == DB_OK; i++) {
		int64_t upto;

		running += weights[i];
		upto = i == n - 1 ? g->size->tasks : (int64_t)(g->size->tasks * (running / total) + 0.5);
		status = create_project(g, i, upto - assigned, members);
		assigned = upto;
	}
	free(weights);
	free(members);
	return status;
}

/* ---------------------------------------------------------------- entry point */

static int check_empty(struct gen *g)
{
	db_stmt *s = db_query(g->conn, "SELECT gid FROM workspaces LIMIT 1");
	int status;

	if (s == NULL)
		return gen_fail(g, DB_ERROR, "checking for workspaces");
	status = db_step(s);
	db_stmt_done(s);
	if (status == DB_ROW) {
		snprintf(g->err, g->errlen, "database is not empty: the demo organization needs a new database");
		return DB_CONSTRAINT;
	}
	if (status != DB_DONE)
		return gen_fail(g, status, "checking for workspaces");
	return DB_OK;
}

static int generate(struct gen *g)
{
	int status;

	status = check_empty(g);
	if (status != DB_OK)
		return status;
	status = db_begin_write(g->conn);
	if (status != DB_OK)
		return gen_fail(g, status, "begin");

	status = insert_organization(g);
	if (status == DB_OK)
		status = create_people(g);
	if (status == DB_OK)
		status = create_teams(g);
	if (status == DB_OK)
		status = create_division_admin(g);
	if (status == DB_OK)
		status = create_tags(g);
	if (status == DB_OK)
		status = create_projects(g);
	if (status != DB_OK) {
		db_rollback(g->conn);
		return status;
	}

	status = db_commit(g->conn);
	if (status != DB_OK)
		return gen_fail(g, status, "commit");
	return DB_OK;
}

static void gen_free(struct gen *g)
{
	for (int i = 0; g->people != NULL && i < g->npeople; i++)
		free(g->people[i].name);
	free(g->people);
	for (int i = 0; g->teams != NULL && i < g->nteams; i++)
		free(g->teams[i].members);
	free(g->teams);
	free(g->guest_projects);
	name_set_free(&g->emails);
}

/* Returns the connection's PRAGMA cache_size, or SQLite's compiled-in default (-2000) if unreadable. */
static int64_t sqlite_cache_size(db_conn *c)
{
	db_stmt *s = db_query(c, "PRAGMA cache_size");
	int64_t value = -2000;

	if (s == NULL)
		return value;
	if (db_step(s) == DB_ROW)
		value = db_column_int64(s, 0);
	db_stmt_done(s);
	return value;
}

int store_demo_create(db *d, const char *size, uint64_t seed, struct demo_result *result_r,
		      char *err, size_t errlen)
{
	struct gen g = { 0 };
	int64_t cache_pages = 0;
	int is_sqlite;
	int64_t started = time_mono_us();
	int status;

	memset(result_r, 0, sizeof(*result_r));
	for (int i = 0; i < COUNT(demo_sizes) && g.size == NULL; i++)
		if (size != NULL && strcmp(size, demo_sizes[i].name) == 0)
			g.size = &demo_sizes[i];
	if (g.size == NULL) {
		snprintf(err, errlen, "size: must be small or large, not %s", size ? size : "(none)");
		return DB_ERROR;
	}

	g.conn = db_acquire(d, DEMO_CONNECT_TIMEOUT_MS);
	if (g.conn == NULL) {
		snprintf(err, errlen, "no database connection could be opened; check that the database is reachable");
		return DB_UNAVAILABLE;
	}
	g.rng = seed;
	g.now = time_now_us();
	g.result = result_r;
	g.err = err;
	g.errlen = errlen;
	log_info("demo", "demo data generation started", "size", g.size->name, "seed", LOG_INT((int64_t)seed), NULL);

	/*
	 * SQLite without fsync per batch and with a 128 MiB page cache builds the
	 * large size in about 48 s instead of 67 s (2 cores, measured by hand).
	 * Losing the machine mid-run loses only demo data that can be generated
	 * again. Both settings are restored before the connection goes back to
	 * the pool.
	 */
	is_sqlite = db_conn_driver(g.conn) == &db_sqlite_driver;
	if (is_sqlite) {
		cache_pages = sqlite_cache_size(g.conn);
		db_exec(g.conn, "PRAGMA synchronous=OFF; PRAGMA cache_size=-131072");
	}

	status = generate(&g);

	if (is_sqlite) {
		char restore[96];

		snprintf(restore, sizeof(restore), "PRAGMA synchronous=FULL; PRAGMA cache_size=%" PRId64, cache_pages);
		if (db_exec(g.conn, restore) != DB_OK && status == DB_OK)
			status = gen_fail(&g, DB_ERROR, "restoring the SQLite settings");
	}
	db_release(d, g.conn);
	gen_free(&g);
	if (status == DB_OK)
		log_info("demo", "demo data generation finished", "size", g.size->name,
			 "tasks", LOG_INT(result_r->tasks), "users", LOG_INT(result_r->users),
			 "ms", LOG_INT((time_mono_us() - started) / 1000), NULL);
	return status;
}
