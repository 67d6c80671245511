export * from './props';
export * from './provisioning-template-settings';
export * from './provisioning-hook';
export * from './settings-handler';
export * from './drift-check';
