export * from './errors';
export * from './api-key';
export * from './content-digest';
export * from './http-signature';
export * from './nonce-store';
export * from './alpaca-auth';
export * from './operator-auth';
