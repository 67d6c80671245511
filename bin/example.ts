/**
 * Example stack: a fleet-provisioning setup that applies
 * ProvisioningTemplateSettings to two FLEET_PROVISIONING templates, one
 * created in this app and one that exists outside it.
 *
 * The app itself is bin/app.ts (run by cdk.json); this file only defines the
 * stack, so tests can import it without synthesizing anything.
 */
import * as path from 'path';
import { CfnOutput, Duration, RemovalPolicy, Stack, StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as iot from 'aws-cdk-lib/aws-iot';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { DriftCheck, ProvisioningHook, ProvisioningTemplateSettings } from '../lib';

export interface FleetProvisioningStackProps extends StackProps {
  /** Name of a FLEET_PROVISIONING template that exists outside this app. */
  readonly existingTemplateName: string;
}

export class FleetProvisioningStack extends Stack {
  constructor(scope: Construct, id: string, props: FleetProvisioningStackProps) {
    super(scope, id, props);

    // The role AWS IoT assumes to register things and certificates.
    const provisioningRole = new iam.Role(this, 'ProvisioningRole', {
      assumedBy: new iam.ServicePrincipal('iot.amazonaws.com'),
      managedPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('service-role/AWSIoTThingsRegistration')],
    });
    // This app's own cdk-nag findings, acknowledged on its own resources. The
    // construct acknowledges what it creates itself; nothing here is about it.
    Validations.of(provisioningRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSIoTThingsRegistration]',
      reason:
        'AWSIoTThingsRegistration is the AWS managed policy AWS IoT documents for provisioning roles; ' +
        'only iot.amazonaws.com can assume this role.',
    });

    // The pre-provisioning hook: approves devices whose serial number is well formed.
    // Its role may write to its own log group and nothing else.
    const hookLogs = new logs.LogGroup(this, 'PreProvisioningHookLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const hookRole = new iam.Role(this, 'PreProvisioningHookRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    hookLogs.grantWrite(hookRole);
    const hook = new lambda.Function(this, 'PreProvisioningHook', {
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      handler: 'index.handler',
      code: lambda.Code.fromAsset(path.join(__dirname, 'hook')),
      memorySize: 128,
      timeout: Duration.seconds(5),
      role: hookRole,
      logGroup: hookLogs,
    });
    Validations.of(hook).acknowledge(
      {
        id: 'Serverless-LambdaDLQ',
        reason:
          'AWS IoT invokes a pre-provisioning hook synchronously and waits for its answer; ' +
          'a dead-letter queue only applies to asynchronous invocations.',
      },
      {
        id: 'Serverless-LambdaTracing',
        reason:
          'The hook is a single regular-expression check; tracing would need X-Ray permissions on Resource "*" ' +
          'and its log line per device already records the decision.',
      },
    );

    // 1. A template created in this app: pass its ref. The pairing rule (README,
    // "A template of the same stack"): the template gets its name, type, body and
    // the same role; description, enabled and the hook go on the construct only,
    // so no update of the template leaves it without the hook or enabled early.
    const template = new iot.CfnProvisioningTemplate(this, 'SensorTemplate', {
      templateName: 'sensor-fleet',
      provisioningRoleArn: provisioningRole.roleArn,
      templateType: 'FLEET_PROVISIONING',
      templateBody: JSON.stringify(SENSOR_TEMPLATE_BODY),
    });

    const sensors = new ProvisioningTemplateSettings(this, 'SensorFleet', {
      templateName: template.ref,
      description: 'Sensors, fleet provisioning by claim (hook checks serial numbers)',
      enabled: true,
      provisioningRole,
      preProvisioningHook: ProvisioningHook.fromFunction(hook),
      // Compare the template with these settings every hour; an alarm when they differ.
      driftCheck: DriftCheck.report(),
    });
    new cloudwatch.Alarm(this, 'SensorFleetDrifted', {
      metric: sensors.metricDrift(),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING, // no data: the check no longer sees the template
      alarmDescription: 'sensor-fleet differs from what the stack applied (a console change?)',
    });

    // 2. A template that exists outside the app: pass its name, and leave it as
    // it is when the construct goes (no hook: a kept template must not point at
    // a hook whose invoke permission goes with this stack).
    new ProvisioningTemplateSettings(this, 'ExistingFleet', {
      templateName: props.existingTemplateName,
      enabled: true,
      defaultVersionId: 1,
      provisioningRole,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    new CfnOutput(this, 'SensorTemplateArn', { value: sensors.templateArn });
  }
}

/** A minimal fleet-provisioning template body: one thing per device, named by its serial number. */
const SENSOR_TEMPLATE_BODY = {
  Parameters: {
    SerialNumber: { Type: 'String' },
    'AWS::IoT::Certificate::Id': { Type: 'String' },
  },
  Resources: {
    certificate: {
      Type: 'AWS::IoT::Certificate',
      Properties: { CertificateId: { Ref: 'AWS::IoT::Certificate::Id' }, Status: 'ACTIVE' },
    },
    thing: {
      Type: 'AWS::IoT::Thing',
      OverrideSettings: { AttributePayload: 'MERGE', ThingGroups: 'DO_NOTHING', ThingTypeName: 'REPLACE' },
      Properties: { ThingName: { 'Fn::Join': ['', ['sensor-', { Ref: 'SerialNumber' }]] } },
    },
  },
};
