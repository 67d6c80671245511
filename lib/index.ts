export * from './provisioning-template-settings';
export * from './provisioning-hook';
