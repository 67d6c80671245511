/**
 * Which templates the constructs of one app manage, so that two constructs
 * never fight over the same template in the same account and region.
 *
 * Internal: not exported from the package's entry point.
 */
import { Annotations, Stack, Token } from 'aws-cdk-lib';
import { Construct, IConstruct } from 'constructs';

const REGISTRY_ID = 'IoTProvisioningTemplateSettingsRegistry';

export class TemplateRegistry extends Construct {
  /** The registry of the app (the construct tree's root) that holds `scope`. */
  public static of(scope: IConstruct): TemplateRegistry {
    const root = scope.node.root;
    const existing = root.node.tryFindChild(REGISTRY_ID);
    return (existing as TemplateRegistry | undefined) ?? new TemplateRegistry(root, REGISTRY_ID);
  }

  private readonly claims = new Map<string, { readonly stack: Stack; readonly path: string }[]>();

  /**
   * Record that `owner` manages `templateName` in its stack's account and
   * region. Returns an error, for the app's validation report, if another
   * construct manages it in the same deployment (one stack with its nested
   * stacks), or in a stack of the same (known) account and region; the second
   * claim is then not recorded. When either stack is environment-agnostic, whether they deploy
   * to the same place is not known at synth: a warning says so, rather than
   * refusing dev and prod stacks of one app.
   */
  public claim(owner: IConstruct, templateName: string): string | undefined {
    const stack = Stack.of(owner);
    const others = this.claims.get(templateName) ?? [];
    for (const other of others) {
      const sameAccount = same(stack.account, other.stack.account);
      const sameRegion = same(stack.region, other.stack.region);
      if (deployedWith(other.stack) === deployedWith(stack) || (sameAccount && sameRegion)) {
        return (
          `templateName ${JSON.stringify(templateName)} is already managed by ${other.path} in the same account and region; ` +
          `two ProvisioningTemplateSettings on one template would overwrite each other. Manage each template from one construct (${owner.node.path}).`
        );
      }
      if (sameAccount !== false && sameRegion !== false) {
        Annotations.of(owner).addWarningV2(
          SHARED_TEMPLATE_WARNING_ID,
          `templateName ${JSON.stringify(templateName)} is also managed by ${other.path}: if stacks ${other.stack.node.path} and ${stack.node.path} ` +
            'deploy to the same account and region, the two would overwrite each other. Give the stacks an explicit env to have this checked at synth.',
        );
      }
    }
    this.claims.set(templateName, [...others, { stack, path: owner.node.path }]);
    return undefined;
  }
}

/** Whether two account (or region) values are equal; undefined when either is not known at synth. */
function same(a: string, b: string): boolean | undefined {
  return Token.isUnresolved(a) || Token.isUnresolved(b) ? undefined : a === b;
}

/** The top-level stack a stack is deployed with: nested stacks share their parent's environment. */
function deployedWith(stack: Stack): Stack {
  return stack.nestedStackParent ? deployedWith(stack.nestedStackParent) : stack;
}

/** Warning: one template name in two stacks whose environments are not known at synth. */
export const SHARED_TEMPLATE_WARNING_ID = 'cdk-iot-provisioning-template-settings:templateMaybeManagedTwice';
