/**
 * What a ProvisioningTemplateSettings checks at synth, apart from the
 * template claims of the app (lib/registry.ts):
 *
 * - every prop's value: each problem is one message naming the prop, the
 *   value and what is allowed, and all problems of a construct are reported
 *   together (propErrors);
 * - the hook function's account against the stack's (hookAccountCheck);
 * - a pinned default version of a template defined in the same stack
 *   (pinnedVersionWarning);
 * - a removal policy that keeps the template, and with it the hook, while
 *   the hook's resources go (retainedHookErrors).
 *
 * Pure functions, no constructs.
 *
 * Internal: not exported from the package's entry point.
 */
import { CfnDeletionPolicy, CfnResource, RemovalPolicy, Stack, Token, TokenComparison } from 'aws-cdk-lib';
import type * as iot from 'aws-cdk-lib/aws-iot';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SETTINGS_WITH_PROPS } from './setting-props';
import type { SettingsProvider } from './provider';

/** Warning: the hook function's account or the stack's is known only at deploy time. */
export const HOOK_ACCOUNT_UNKNOWN_WARNING_ID = 'cdk-iot-provisioning-template-settings:hookAccountUnknown';

/** Warning: defaultVersionId pins the default version of a template defined in the same stack. */
export const PINNED_VERSION_WARNING_ID = 'cdk-iot-provisioning-template-settings:defaultVersionPinned';

/** The props as checked here: anything may come from plain JavaScript. */
interface CheckedProps {
  readonly templateName?: unknown;
  readonly description?: unknown;
  readonly defaultVersionId?: unknown;
  readonly removalPolicy?: unknown;
}

/** The problems with a construct's props: wrong types first, then wrong values. */
export interface PropErrors {
  /**
   * Values of the wrong type, which only plain JavaScript can pass
   * (TypeScript and jsii refuse them): nothing can be built from them.
   */
  readonly types: string[];
  /** Values of the right type that AWS IoT or CloudFormation would refuse. */
  readonly values: string[];
}

const TEMPLATE_NAME = /^[0-9A-Za-z_-]{1,36}$/;
/** AWS IoT's pattern for a description is `[^\p{C}]*`: no control, format, private-use, surrogate or unassigned characters. */
const INVISIBLE_CHARACTERS = /\p{C}/u;

/** Every problem with `props`, none left out: a user fixes them all in one go. */
export function propErrors(props: unknown): PropErrors {
  const given = (props ?? {}) as CheckedProps;
  return { types: typeErrors(given), values: valueErrors(given) };
}

/**
 * What TypeScript (and jsii, for the other languages) already ensures, checked
 * again for plain JavaScript callers: a wrong type would otherwise reach the
 * handler and fail only at deploy time.
 */
function typeErrors(props: CheckedProps): string[] {
  const expected = [
    { prop: 'templateName', propType: 'string', required: true },
    ...SETTINGS_WITH_PROPS.map((s) => ({ ...s, required: false })),
  ];
  const errors: string[] = [];
  for (const { prop, propType, required } of expected) {
    const value: unknown = (props as Record<string, unknown>)[prop];
    if (propType !== undefined && (value !== undefined || required) && typeof value !== propType) {
      errors.push(
        `${prop} must be a ${propType}${required ? '' : ' or left out'}; got ${value === undefined ? 'nothing' : `${typeof value} ${JSON.stringify(value)}`}.`,
      );
    }
  }
  return errors;
}

/** The values of the right type that are refused; a value of the wrong type is not checked again. */
function valueErrors(props: CheckedProps): string[] {
  const errors: string[] = [];
  const { templateName, description, defaultVersionId, removalPolicy } = props;
  if (typeof templateName === 'string' && !Token.isUnresolved(templateName) && !TEMPLATE_NAME.test(templateName)) {
    errors.push(
      `templateName must be 1-36 characters of letters, digits, '_' and '-'; got ${JSON.stringify(templateName)} (${templateName.length} characters).`,
    );
  }
  if (typeof description === 'string' && !Token.isUnresolved(description)) {
    if (description.length > 500) {
      errors.push(
        `description must be at most 500 characters; got ${description.length} characters: ${JSON.stringify(description.slice(0, 60))}...`,
      );
    }
    const invisible = INVISIBLE_CHARACTERS.exec(description);
    if (invisible) {
      const codePoint = invisible[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
      const shown =
        description.length > 500 ? `${JSON.stringify(description.slice(0, 60))}...` : `${JSON.stringify(description)}.`;
      errors.push(
        `description must not contain control or other invisible characters (Unicode category C, such as line breaks, tabs or zero-width spaces; found U+${codePoint} at index ${invisible.index}); got ${shown}`,
      );
    }
  }
  if (
    typeof defaultVersionId === 'number' &&
    !Token.isUnresolved(defaultVersionId) &&
    !(Number.isSafeInteger(defaultVersionId) && defaultVersionId > 0)
  ) {
    errors.push(
      `defaultVersionId must be a positive whole number (a version ID of the template, such as 1 or 2); got ${defaultVersionId}.`,
    );
  }
  // The template has no snapshot: every other removal policy is accepted.
  if (removalPolicy === RemovalPolicy.SNAPSHOT) {
    errors.push(
      'removalPolicy must be RemovalPolicy.DESTROY, RemovalPolicy.RETAIN or RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE; got RemovalPolicy.SNAPSHOT: a provisioning template has no snapshot.',
    );
  }
  return errors;
}

/** What hookAccountCheck found: nothing, an error, or a warning. */
export type AccountCheck = { readonly error: string } | { readonly warning: string } | undefined;

/**
 * AWS IoT invokes a pre-provisioning hook only in the template's own account
 * (the stack's): a function of another account is an error when both accounts
 * are known at synth, a warning when either is not.
 *
 * The account of a function defined in the app is its stack's; of an
 * imported function, the one in its ARN (`fn.env`, which CDK parses from
 * it). The same token on both sides is the same account: a function of the
 * same stack, imported by name, or referenced from another stack of the app
 * (CloudFormation exports work within one account only).
 */
export function hookAccountCheck(stack: Stack, fn: IFunction): AccountCheck {
  const stackAccount = stack.account;
  const fnAccount = fn.env.account;
  const comparison = Token.compareStrings(fnAccount, stackAccount);
  // compareStrings tells nothing of two tokens, even the same one.
  if (fnAccount === stackAccount || comparison === TokenComparison.SAME) {
    return undefined;
  }
  if (comparison === TokenComparison.DIFFERENT) {
    return {
      error:
        `preProvisioningHook must be a function in the stack's account ${stackAccount}; got ${fn.node.path} in account ${fnAccount}. ` +
        "AWS IoT invokes a pre-provisioning hook only in the template's own account: it would refuse every device registration.",
    };
  }
  const shown = (account: string) =>
    Token.isUnresolved(account) ? 'an account known only at deploy time' : `account ${account}`;
  return {
    warning:
      `preProvisioningHook ${fn.node.path} is in ${shown(fnAccount)} and stack ${stack.node.path} deploys to ${shown(stackAccount)}: ` +
      "whether they are the same is not known at synth. AWS IoT invokes a pre-provisioning hook only in the template's own account, " +
      'and would refuse every device registration with a hook of another account. Give the stack an explicit env ' +
      '(and import the function by its full ARN) to have this checked at synth.',
  };
}

/**
 * The warning for a `defaultVersionId` set on a template that `template`, a
 * CfnProvisioningTemplate of the same stack, defines: a change to its body
 * makes a new default version, which the pin then puts back to the old one.
 */
export function pinnedVersionWarning(template: iot.CfnProvisioningTemplate, defaultVersionId: number): string {
  const version = Token.isUnresolved(defaultVersionId) ? 'the pinned version' : `version ${defaultVersionId}`;
  return (
    `defaultVersionId pins the default version of ${template.node.path}, a template of this stack: ` +
    'a change to its templateBody makes AWS IoT create a new version and set it as the default, and this construct then sets ' +
    `${version} back as the default (the settings are applied again after each change of the template), so devices keep being ` +
    'provisioned with the old body. Leave defaultVersionId out to provision with the latest body, or change it in the same deployment as the body.'
  );
}

const RETAINED_ON_DELETE = [CfnDeletionPolicy.RETAIN, CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE];

/**
 * A template that CloudFormation keeps (on delete or on replacement) keeps
 * pointing at its hook, so everything the hook runs on must be kept as well:
 * its invoke permissions (in this stack), the function with its role,
 * versions or aliases, and whatever the function itself uses. This construct
 * cannot tell what that is, so it asks for every resource of the stacks
 * involved (this one, and the hook's if the hook is defined in the app) to be
 * retained, as `RemovalPolicies.of(stack).retain()` does; the handler's own
 * resources excepted.
 */
export function retainedHookErrors(resource: CfnResource, fn: IFunction, provider: SettingsProvider): string[] {
  const { deletionPolicy, updateReplacePolicy } = resource.cfnOptions;
  const keptOnDelete = deletionPolicy !== undefined && RETAINED_ON_DELETE.includes(deletionPolicy);
  if (!keptOnDelete && updateReplacePolicy !== CfnDeletionPolicy.RETAIN) {
    return [];
  }
  const stacks = new Set([Stack.of(resource), Stack.of(fn)]);
  const deleted = [...stacks]
    .flatMap((stack) => stack.node.findAll())
    .filter((c): c is CfnResource => CfnResource.isCfnResource(c))
    .filter(
      (c) => c.cfnResourceType !== 'AWS::CDK::Metadata' && stacks.has(Stack.of(c)) && !provider.ownsHandlerResource(c),
    )
    .filter(
      (c) =>
        !RETAINED_ON_DELETE.includes(c.cfnOptions.deletionPolicy!) ||
        // The invoke permissions are replaced when the templates they name change.
        (c.cfnResourceType === 'AWS::Lambda::Permission' &&
          c.cfnOptions.updateReplacePolicy !== CfnDeletionPolicy.RETAIN),
    )
    .map((c) => c.node.path);
  if (deleted.length === 0) {
    return [];
  }
  const shown = deleted.slice(0, 5).join(', ') + (deleted.length > 5 ? ` and ${deleted.length - 5} more` : '');
  return [
    `removalPolicy keeps the template (DeletionPolicy ${deletionPolicy ?? 'Delete'}, UpdateReplacePolicy ${updateReplacePolicy ?? 'Delete'}) ` +
      `and with it the preProvisioningHook ${fn.node.path}, but resources the hook may run on would be deleted with the stack: ${shown}. ` +
      'AWS IoT would then fail to call the hook and refuse every device registration. ' +
      'Use RemovalPolicy.DESTROY (only the hook is removed; the other settings stay), retain the whole stack ' +
      "(RemovalPolicies.of(stack).retain(), which also keeps the hook's invoke permissions), or set the hook outside this construct.",
  ];
}
