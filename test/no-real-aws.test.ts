/**
 * The guard in test/support/no-real-aws.cjs (jest setupFiles): an AWS SDK
 * client that no test mocked or pointed at a fake reaches a closed port on
 * 127.0.0.1, never AWS.
 */
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { DescribeProvisioningTemplateCommand, IoTClient } from '@aws-sdk/client-iot';

test.each([
  [
    'IoT',
    () => new IoTClient({ maxAttempts: 1 }),
    () => new DescribeProvisioningTemplateCommand({ templateName: 't' }),
  ],
  ['CloudFormation', () => new CloudFormationClient({ maxAttempts: 1 }), () => new DescribeStacksCommand({})],
] as const)('an unmocked %s client is refused by 127.0.0.1:1', async (_service, client, command) => {
  const sent: string[] = [];
  const c = client();
  c.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { hostname?: string; port?: number };
      sent.push(`${request.hostname}:${request.port}`);
      return next(args);
    },
    { step: 'finalizeRequest', name: 'recordDestination' },
  );
  const send = c.send.bind(c) as (command: unknown) => Promise<unknown>;
  await expect(send(command())).rejects.toThrow(/ECONNREFUSED 127\.0\.0\.1:1/);
  expect(sent).toEqual(['127.0.0.1:1']);
});
