-- wrk: POST /customers with a fresh Idempotency-Key per request.
local token = os.getenv("OMS_BENCH_TOKEN")
math.randomseed(os.time())
local prefix = tostring(os.time()) .. "-" .. tostring(math.random(1, 1e9))
local n = 0
setup = function(thread) thread:set("tid", tostring(math.random(1, 1e9))) end
request = function()
  n = n + 1
  return wrk.format("POST", "/v0.9/customers", {
    ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = prefix .. "-" .. (tid or "t") .. "-" .. n}, '{"externalId": "bench"}')
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d p50_ms=%.2f p99_ms=%.2f rps=%.1f\n",
    summary.requests, summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
