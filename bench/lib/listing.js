// Measures whether a deep page of a list costs more than its first page.
// Walks PATH with ?limit=LIMIT, following next_page.offset, down to page
// DEPTH or to the last full page if the list is shorter. Then fetches the
// first page and that deep page SAMPLES times each, alternating so that
// drift affects both alike, and prints one JSON line with the medians and
// 90th percentiles.
//
// usage: BENCH_TOKEN=TOKEN node bench/lib/listing.js BASE_URL PATH LIMIT DEPTH SAMPLES
//
// Each time is one fetch() over a kept-alive connection, from sending the
// request until the whole body has arrived, in milliseconds.
'use strict';

const { performance } = require('node:perf_hooks');

const WARMUP_FETCHES = 5;

const [base, path, limitText, depthText, samplesText] = process.argv.slice(2);
const token = process.env.BENCH_TOKEN;
const headers = { Authorization: `Bearer ${token}` };

function pageUrl(limit, offset) {
  const separator = path.includes('?') ? '&' : '?';
  const query = `limit=${limit}` + (offset ? `&offset=${encodeURIComponent(offset)}` : '');
  return `${base}${path}${separator}${query}`;
}

async function get(url) {
  const res = await fetch(url, { headers });
  const text = await res.text();
  if (res.status !== 200) {
    throw new Error(`GET ${url.slice(base.length)} returned ${res.status}: ${text.slice(0, 300)}`);
  }
  return JSON.parse(text);
}

async function timed(url) {
  const start = performance.now();
  const res = await fetch(url, { headers });
  await res.arrayBuffer();
  const ms = performance.now() - start;
  if (res.status !== 200) {
    throw new Error(`GET ${url.slice(base.length)} returned ${res.status}`);
  }
  return ms;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

// Follows next_page.offset from page 1. Returns the URL of page `depth`, or
// of the deepest page that still has `limit` rows when the list ends sooner,
// because a shorter last page would flatter the deep figure.
async function walk(limit, depth) {
  let offset = null;
  let page = 1;
  let deepest = { page: 1, url: pageUrl(limit, null) };
  let rows = 0;

  for (;;) {
    const url = pageUrl(limit, offset);
    const body = await get(url);
    rows += body.data.length;
    if (body.data.length === limit) {
      deepest = { page, url };
    }
    if (page === depth || !body.next_page) {
      break;
    }
    offset = body.next_page.offset;
    page++;
  }
  return { ...deepest, rowsSeen: rows, pagesSeen: page };
}

async function main() {
  const limit = Number(limitText);
  const depth = Number(depthText);
  const samples = Number(samplesText);
  if (!base || !path || !token || !(limit >= 1) || !(depth >= 1) || !(samples >= 1)) {
    throw new Error('usage: BENCH_TOKEN=TOKEN node bench/lib/listing.js BASE_URL PATH LIMIT DEPTH SAMPLES');
  }

  const walkStart = performance.now();
  const deep = await walk(limit, depth);
  const walkSeconds = (performance.now() - walkStart) / 1000;

  const firstUrl = pageUrl(limit, null);
  for (let i = 0; i < WARMUP_FETCHES; i++) {
    await timed(firstUrl);
    await timed(deep.url);
  }
  const first = [];
  const deepTimes = [];
  // Swapping the order in every other round cancels any cost of going first.
  for (let i = 0; i < samples; i++) {
    if (i % 2 === 0) {
      first.push(await timed(firstUrl));
      deepTimes.push(await timed(deep.url));
    } else {
      deepTimes.push(await timed(deep.url));
      first.push(await timed(firstUrl));
    }
  }

  const result = {
    path,
    limit,
    depth_requested: depth,
    depth_reached: deep.page,
    pages_walked: deep.pagesSeen,
    rows_walked: deep.rowsSeen,
    walk_seconds: Number(walkSeconds.toFixed(1)),
    samples,
    first_median_ms: Number(median(first).toFixed(3)),
    first_p90_ms: Number(quantile(first, 0.9).toFixed(3)),
    deep_median_ms: Number(median(deepTimes).toFixed(3)),
    deep_p90_ms: Number(quantile(deepTimes, 0.9).toFixed(3)),
  };
  result.ratio = Number((result.deep_median_ms / result.first_median_ms).toFixed(2));
  process.stdout.write(JSON.stringify(result) + '\n');
}

main().catch((err) => {
  process.stderr.write(`bench: listing measurement failed: ${err.message}\n`);
  process.exit(1);
});
