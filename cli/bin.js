#!/usr/bin/env node
'use strict';
// The CLI is TypeScript run through tsx (a runtime dependency), like the service itself.
require('tsx/cjs');
require('./main.ts')
  .run(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
