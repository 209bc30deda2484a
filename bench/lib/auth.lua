-- Adds kontor's Authorization header to every wrk request. The token comes
-- from the environment (BENCH_TOKEN) so that it does not appear in the
-- process list. Setting wrk.headers once at load time keeps wrk on its fast
-- path, which builds the request a single time.
local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
  error("BENCH_TOKEN is not set")
end
wrk.headers["Authorization"] = "Bearer " .. token
