-- wrk: quote + execute between OMS wallets. Each thread keeps a queue of open quotes: a connection that
-- is free executes a queued quote, else creates a new one. OMS_BENCH_HOT=1 sends everything from wallet 1.
local pairs_ = {}
for line in io.lines("bench/results/customers.txt") do
  local customer, wallet = line:match("(%S+) (%S+)")
  pairs_[#pairs_ + 1] = {customer = customer, wallet = wallet}
end
local token = os.getenv("OMS_BENCH_TOKEN")
local hot = os.getenv("OMS_BENCH_HOT") == "1"
local threads = {}
-- Keys must differ between runs: Lua's generator is unseeded, so the time is part of every key.
math.randomseed(os.time())
local run = tostring(os.time())
setup = function(thread) threads[#threads + 1] = thread; thread:set("seed", run .. "-" .. math.random(1, 1e9)) end

queue, executed, failed, n = {}, 0, 0, 0  -- globals: thread:get() reads them in done()
local headers = function(kind)
  n = n + 1
  return {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json",
          ["Idempotency-Key"] = kind .. "-" .. seed .. "-" .. n}
end
request = function()
  if #queue > 0 then
    local quote = table.remove(queue)
    return wrk.format("POST", "/v0.9/transactions", headers("t"), '{"quoteId": "' .. quote .. '"}')
  end
  local i = hot and 1 or math.random(1, #pairs_)
  local j = (i % #pairs_) + 1
  local body = string.format('{"customerId": "%s", "source": {"walletId": "%s", "asset": "usdc", "network": '
    .. '"polygon", "amount": "0.01"}, "destination": {"asset": "usdc", "network": "polygon", "wallet": {"id": "%s"}}}',
    pairs_[i].customer, pairs_[i].wallet, pairs_[j].wallet)
  return wrk.format("POST", "/v0.9/quotes", headers("q"), body)
end
response = function(status, _, body)
  local quote = body:match('"id":"(qt_[0-9a-z]+)"')
  if quote and status == 201 then queue[#queue + 1] = quote
  elseif body:match('"id":"txn_') and status == 201 then executed = executed + 1
  else failed = failed + 1 end
end
done = function(summary, latency, _)
  local total, bad = 0, 0
  for _, thread in ipairs(threads) do total = total + thread:get("executed"); bad = bad + thread:get("failed") end
  io.write(string.format("RESULT executed=%d transfers_per_s=%.1f failed=%d requests=%d p50_ms=%.2f p99_ms=%.2f\n",
    total, total / (summary.duration / 1e6), bad, summary.requests, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
