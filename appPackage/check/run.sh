#!/usr/bin/env bash
# Checks the Teams app package (appPackage/): manifest against the schema bundled in the pinned
# @microsoft/app-manifest, the bot commands, the icons, and scripts/package-teams-app.
# Needs Node >= 20 and python3. Only `npm ci` uses the network; the tests run offline.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node --test
