#!/bin/sh
# Runbook 5.1 (daily): refresh URLhaus, PhishTank and Feodo Tracker into intel/ (ETag / If-Modified-Since aware).
exec ferretwatch intel update "$@"
