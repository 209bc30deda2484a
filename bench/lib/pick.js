// Picks the objects bench/run.sh measures, through kontor's API as the
// benchmark's user: the first workspace, its first project, that project's
// first task and the workspace's first tag. Prints shell-readable lines
// "workspace=GID", "project=GID", "task=GID" and "tag=GID".
//
// usage: BENCH_TOKEN=TOKEN node bench/lib/pick.js BASE_URL
'use strict';

const base = process.argv[2];
const token = process.env.BENCH_TOKEN;

async function first(path) {
  const res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`GET ${path} returned ${res.status}: ${text.slice(0, 300)}`);
  }
  const items = JSON.parse(text).data;
  if (!Array.isArray(items) || items.length === 0) {
    throw new Error(`GET ${path} returned an empty list; is the demo organization complete?`);
  }
  return items[0].gid;
}

async function main() {
  if (!base || !token) {
    throw new Error('usage: BENCH_TOKEN=TOKEN node bench/lib/pick.js BASE_URL');
  }
  const workspace = await first('/api/1.0/workspaces?limit=1');
  const project = await first(`/api/1.0/projects?workspace=${workspace}&limit=1`);
  const task = await first(`/api/1.0/projects/${project}/tasks?limit=1`);
  const tag = await first(`/api/1.0/workspaces/${workspace}/tags?limit=1`);
  process.stdout.write(`workspace=${workspace}\nproject=${project}\ntask=${task}\ntag=${tag}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench: picking objects failed: ${err.message}\n`);
  process.exit(1);
});
