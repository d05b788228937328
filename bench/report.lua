-- wrk script for the report benchmarks (bench/server.sh, bench/report-rate.sh): every
-- request reports a different URL (a fresh moderation entry each time, the heavier case),
-- with the install token in FW_TOKEN. With FW_PAUSE_MS set, each connection pauses that
-- long between requests (a paced load, for latency away from saturation).
local token = os.getenv("FW_TOKEN") or error("set FW_TOKEN to an install token")
local pause = tonumber(os.getenv("FW_PAUSE_MS") or "")
local counter = 0
local thread_id = 0
setup = function(thread) thread:set("thread_id", counter); counter = counter + 1 end
request = function()
    counter = counter + 1
    local body = '{"url":"https://bench-' .. thread_id .. '.example/p/' .. counter .. '?s=' .. math.random(1, 1000000000) .. '",'
        .. '"reason":"phishing_login","timestamp":"2026-01-02T03:04:05Z","extension_version":"1.4.2",'
        .. '"pack_version":"2026.01.02.03","score":87,"findings":[{"key":"idn_homograph_high",'
        .. '"evidence":"xn--pypal-4ve.com is displayed as paypal.com"}]}'
    return wrk.format("POST", "/v1/report", {["Content-Type"] = "application/json", ["X-Install-Token"] = token}, body)
end
if pause then
    delay = function() return pause end
end
