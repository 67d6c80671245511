'use strict';
/**
 * Jest globalSetup / globalTeardown: every temporary directory of a test run
 * (the cloud assemblies `new App()` writes to os.tmpdir() when no outdir is
 * given, the tests' own mkdtemp directories) goes under one directory, which
 * is removed when the run ends. Test workers inherit TMPDIR from this process.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');

const KEY = 'IOT_SETTINGS_TEST_TMPDIR';

async function setup() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'iot-settings-tests-'));
  process.env[KEY] = dir;
  process.env.TMPDIR = dir;
}

async function teardown() {
  const dir = process.env[KEY];
  if (dir) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

module.exports = { setup, teardown };
