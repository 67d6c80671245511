/**
 * Example app (run by cdk.json): one FleetProvisioningStack.
 *
 *   npx cdk synth                              # no AWS account needed
 *   npx cdk deploy -c templateName=my-fleet    # the template outside the app
 */
import { App } from 'aws-cdk-lib';
import { FleetProvisioningStack } from './example';

const app = new App();
new FleetProvisioningStack(app, 'FleetProvisioningExample', {
  existingTemplateName: app.node.tryGetContext('templateName') ?? 'existing-fleet',
});
app.synth();
