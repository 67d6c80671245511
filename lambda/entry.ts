/**
 * The bundle's entry point (scripts/bundle-handler.mjs): the handler as a
 * CommonJS export, as Lambda loads it, without the ES-module interop code a
 * bundler adds for `export function`.
 */
import { handler } from './index';

export = { handler };
