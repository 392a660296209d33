-- wrk script: POSTs the JSON body in $BODY_FILE to $TARGET_PATH with $API_KEY. With
-- IDEMPOTENT=1 every request carries a fresh Idempotency-Key ($RUN_ID-thread-counter), so each
-- one is a new charge. Non-2xx answers are counted by wrk ("Non-2xx or 3xx responses").
local threads = {}
local counter = 0

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
end

function request()
  counter = counter + 1
  local headers = { ["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json" }
  if idempotent then
    headers["Idempotency-Key"] = run .. "-" .. tid .. "-" .. counter
  end
  return wrk.format("POST", path, headers, body)
end
