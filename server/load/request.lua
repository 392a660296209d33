-- wrk script for server/load/run.sh: POSTs the JSON body in $BODY_FILE to $TARGET_PATH with
-- $API_KEY. With IDEMPOTENT=1 every request carries a fresh Idempotency-Key
-- ($RUN_ID-thread-counter), so each one is a new charge. RUN_ID must end in letters: a run of
-- digits across the dashes could pass the card-number scan (400 card_number_rejected).
--
-- Every answer is checked in `response`: 2xx answers are counted as acknowledged, anything else
-- as a failure (the first few statuses and one body are kept to be reported). `done` writes the
-- figures and the counts as one JSON object to $RESULT_FILE; run.sh fails the run when any
-- answer was not 2xx or any socket error (connect, read, write, timeout) happened.
--
-- BREAK_EVERY=N (the smoke test's proof that a failure is caught): every Nth request is sent
-- with a wrong key, so the server answers 401.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("BODY_FILE"), "r"))
  body = f:read("*a")
  f:close()
  path = os.getenv("TARGET_PATH")
  key = os.getenv("API_KEY")
  idempotent = os.getenv("IDEMPOTENT") == "1"
  run = os.getenv("RUN_ID") or "run"
  break_every = tonumber(os.getenv("BREAK_EVERY") or "0")
  counter = 0
  ok = 0
  bad = 0
  statuses = ""
  sample = ""
end

function request()
  counter = counter + 1
  local auth = "Bearer " .. key
  if break_every > 0 and counter % break_every == 0 then
    auth = "Bearer sk_wrong_key_for_the_smoke_test"
  end
  local headers = { ["Authorization"] = auth, ["Content-Type"] = "application/json" }
  if idempotent then
    headers["Idempotency-Key"] = run .. "-" .. tid .. "-" .. counter
  end
  return wrk.format("POST", path, headers, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    bad = bad + 1
    if bad <= 5 then
      statuses = statuses .. status .. " "
    end
    if bad == 1 then
      sample = string.sub(body or "", 1, 300)
    end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c) return string.format("\\u%04x", string.byte(c)) end) .. '"'
end

function done(summary, latency, requests)
  local acknowledged, failed, statuses_seen, first_body = 0, 0, "", ""
  for _, t in ipairs(threads) do
    acknowledged = acknowledged + t:get("ok")
    failed = failed + t:get("bad")
    statuses_seen = statuses_seen .. t:get("statuses")
    if first_body == "" then first_body = t:get("sample") end
  end
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local out = assert(io.open(os.getenv("RESULT_FILE"), "w"))
  out:write(string.format(
    '{"requests":%d,"seconds":%.3f,"per_second":%.1f,"acknowledged":%d,"non_2xx":%d,' ..
    '"statuses":%s,"sample":%s,"connect_errors":%d,"read_errors":%d,"write_errors":%d,' ..
    '"timeouts":%d,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f}\n',
    summary.requests, seconds, summary.requests / seconds, acknowledged, failed,
    json_string(statuses_seen), json_string(first_body), e.connect, e.read, e.write, e.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
  out:close()
end
