/**
 * Which templates the constructs of one app manage, so that two constructs
 * never fight over the same template in the same account and region.
 *
 * Internal: not exported from the package's entry point.
 */
import { Stack } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';

const REGISTRY_ID = 'IoTProvisioningTemplateSettingsRegistry';

export class TemplateRegistry extends Construct {
  /** The registry of the app (the construct tree's root) that holds `scope`. */
  public static of(scope: IConstruct): TemplateRegistry {
    const root = scope.node.root;
    const existing = root.node.tryFindChild(REGISTRY_ID);
    return (existing as TemplateRegistry | undefined) ?? new TemplateRegistry(root, REGISTRY_ID);
  }

  private readonly owners = new Map<string, string>();

  /**
   * Record that the construct at `path` manages `templateName` in `stack`'s
   * account and region; throws if another construct already does.
   * Unresolved accounts and regions compare as written, so two
   * environment-agnostic stacks count as one environment.
   */
  public claim(stack: Stack, templateName: string, path: string): void {
    const key = JSON.stringify([stack.account, stack.region, templateName]);
    const owner = this.owners.get(key);
    if (owner !== undefined) {
      throw new Error(
        `templateName ${JSON.stringify(templateName)} is already managed by ${owner} in the same account and region; ` +
          `two ProvisioningTemplateSettings on one template would overwrite each other. Manage each template from one construct (${path}).`,
      );
    }
    this.owners.set(key, path);
  }
}
