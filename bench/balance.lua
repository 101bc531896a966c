-- wrk: GET /wallets/{id}/balance, rotating over the dataset's wallets (bench/results/wallets.txt).
local wallets = {}
for line in io.lines("bench/results/wallets.txt") do wallets[#wallets + 1] = line end
local token = os.getenv("OMS_BENCH_TOKEN")
local n = 0
request = function()
  n = n + 1
  local id = wallets[(n % #wallets) + 1]
  return wrk.format("GET", "/v0.9/wallets/" .. id .. "/balance", {["Authorization"] = "Bearer " .. token})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d non2xx=%d p50_ms=%.2f p99_ms=%.2f rps=%.1f\n",
    summary.requests, summary.errors.status, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
end
