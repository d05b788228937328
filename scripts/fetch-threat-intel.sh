#!/bin/sh
# Runbook 5.2: fetch URLhaus, PhishTank and Feodo Tracker into intel/ (ETag / If-Modified-Since aware).
exec ferretwatch intel update "$@"
