/**
 * What only synth needs of each row of SETTINGS (lib/handler-contract.ts):
 * the construct's prop, its JavaScript type, and how its value becomes the
 * custom resource's property. Kept out of the contract so the handler's
 * bundle does not carry it; the mapped type makes every SettingField have
 * one entry.
 *
 * Internal: not exported from the package's entry point.
 */
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { HookProperties, SETTINGS, SettingField, SettingsProperties } from './handler-contract';
import type { ProvisioningTemplateSettingsProps } from './props';
import type { ProvisioningHook } from './provisioning-hook';

interface SettingProp<P> {
  /** The prop of ProvisioningTemplateSettingsProps. */
  readonly prop: keyof ProvisioningTemplateSettingsProps;
  /** The prop's JavaScript type, checked at synth for JavaScript callers (objects are checked by jsii). */
  readonly propType?: 'string' | 'boolean' | 'number';
  /** The prop's value as the property's (CloudFormation hands every scalar to the handler as a string). */
  readonly encode: (value: P) => unknown;
}

export const SETTING_PROPS: { readonly [F in SettingField]: SettingProp<never> } = {
  description: { prop: 'description', propType: 'string', encode: (value: string) => value },
  enabled: { prop: 'enabled', propType: 'boolean', encode: (value: boolean) => String(value) },
  defaultVersionId: { prop: 'defaultVersionId', propType: 'number', encode: (value: number) => String(value) },
  provisioningRoleArn: { prop: 'provisioningRole', encode: (role: IRole) => role.roleArn },
  preProvisioningHook: {
    prop: 'preProvisioningHook',
    encode: (hook: ProvisioningHook): HookProperties => ({
      TargetArn: hook.hookFunction.functionArn,
      PayloadVersion: hook.payloadVersion,
    }),
  },
};

/** Each row of SETTINGS with its prop, in the table's order. */
export const SETTINGS_WITH_PROPS = SETTINGS.map((setting) => ({ ...setting, ...SETTING_PROPS[setting.field] }));

/** The custom resource's property of each setting the props manage. */
export function settingsProperties(props: ProvisioningTemplateSettingsProps): Partial<SettingsProperties> {
  const properties: Record<string, unknown> = {};
  for (const setting of SETTINGS_WITH_PROPS) {
    const value = props[setting.prop];
    if (value !== undefined) {
      properties[setting.key] = setting.encode(value as never);
    }
  }
  return properties;
}
