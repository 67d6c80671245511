'use strict';
/**
 * Runs before every test file (jest setupFiles): whatever a test forgets to
 * mock or point at a fake, the AWS SDK reaches only a closed port on
 * 127.0.0.1, with dummy credentials, and reads nothing of the machine's AWS
 * setup. Tests that talk to the local fakes set service endpoints
 * (AWS_ENDPOINT_URL_IOT, AWS_ENDPOINT_URL_CLOUDFORMATION), which the SDK
 * prefers over this one.
 */
const path = require('node:path');

Object.assign(process.env, {
  AWS_ENDPOINT_URL: 'http://127.0.0.1:1',
  AWS_REGION: 'eu-west-1',
  AWS_ACCESS_KEY_ID: 'AKIANOREALAWSINTESTS',
  AWS_SECRET_ACCESS_KEY: 'no-real-aws-in-tests',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: path.join(__dirname, 'no-such-aws-config'),
  AWS_SHARED_CREDENTIALS_FILE: path.join(__dirname, 'no-such-aws-credentials'),
});
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
delete process.env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS;
