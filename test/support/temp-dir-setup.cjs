'use strict';
module.exports = require('./temp-dir.cjs').setup;
