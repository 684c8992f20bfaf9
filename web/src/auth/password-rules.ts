/** The user pool's password policy (lib/constructs/user-accounts.ts), to show and check as people type. */
export interface PasswordRule {
  readonly id: string;
  readonly text: string;
  readonly test: (password: string) => boolean;
}

/** Cognito's symbol set: ^ $ * . [ ] { } ( ) ? " ! @ # % & / \ , > < ' : ; | _ ~ ` = + - and space. */
const SYMBOL = /[\^$*.[\]{}()?"!@#%&/\\,><':;|_~`=+\- ]/;

export const PASSWORD_RULES: readonly PasswordRule[] = [
  { id: 'length', text: 'At least 12 characters', test: (p) => p.length >= 12 },
  { id: 'upper', text: 'An uppercase letter (A–Z)', test: (p) => /[A-Z]/.test(p) },
  { id: 'lower', text: 'A lowercase letter (a–z)', test: (p) => /[a-z]/.test(p) },
  { id: 'digit', text: 'A digit (0–9)', test: (p) => /[0-9]/.test(p) },
  { id: 'symbol', text: 'A symbol, such as ! @ # $ % & * ?', test: (p) => SYMBOL.test(p) },
];

export const passwordMeetsRules = (password: string): boolean => PASSWORD_RULES.every((rule) => rule.test(password));
