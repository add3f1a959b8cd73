-- wrk script for loadtest/run: the load is wrk's plain GET of the URL on the
-- command line (no request() or response() hook, so the client does no Lua
-- work per request and loads every server the same way); done() prints one
-- JSON line, prefixed so the harness finds it among wrk's own report.
--
--   wrk -t1 -c64 -d5s -s loadtest/wrk_report.lua http://127.0.0.1:PORT/1k.bin
--
-- wrk counts "status" errors for HTTP status codes > 399; the harness asks
-- for files that exist with plain GETs, so any of them is a failure, and so
-- is a reply shorter than the file (checked from "bytes" by the harness).

local function num(x)
  -- JSON has no NaN or infinity; wrk gives NaN statistics when nothing
  -- completed.
  if x ~= x or x == math.huge or x == -math.huge then
    return "null"
  end
  return string.format("%.6g", x)
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1e6
  local fields = {
    string.format('"requests":%d', summary.requests),
    string.format('"bytes":%d', summary.bytes),
    '"duration_s":' .. num(secs),
    '"requests_per_sec":' .. num(secs > 0 and summary.requests / secs or 0),
    string.format('"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}',
                  e.connect, e.read, e.write, e.status, e.timeout),
    string.format('"non_2xx":%d', e.status),
    -- wrk keeps latency in microseconds; the harness reports milliseconds.
    '"latency_ms":{' ..
      '"mean":' .. num(latency.mean / 1000) ..
      ',"max":' .. num(latency.max / 1000) ..
      ',"p50":' .. num(latency:percentile(50) / 1000) ..
      ',"p90":' .. num(latency:percentile(90) / 1000) ..
      ',"p99":' .. num(latency:percentile(99) / 1000) ..
      ',"p99.9":' .. num(latency:percentile(99.9) / 1000) .. '}',
  }
  io.write("ZCLOAD_WRK_JSON " .. "{" .. table.concat(fields, ",") .. "}\n")
end
