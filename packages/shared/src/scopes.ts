/**
 * Scopes: the permissions a credential carries (DESIGN §3).
 *
 * Rules: `admin` implies every scope; `write:X` implies `read:X`; `read:*` / `write:*` cover every
 * resource. Everything here is pure so the server, SDK and CLI agree on what a scope set allows.
 */

export const RESOURCES = ['certificates', 'suppliers', 'products'] as const;
export type Resource = (typeof RESOURCES)[number];

export const ACTIONS = ['read', 'write'] as const;
export type Action = (typeof ACTIONS)[number];

export type ResourceScope = `${Action}:${Resource}`;
export type WildcardScope = `${Action}:*`;
export type Scope = ResourceScope | WildcardScope | 'admin';

/** Every scope a credential may carry, in the order the docs list them. */
export const SCOPES: readonly Scope[] = [
  'read:certificates',
  'write:certificates',
  'read:suppliers',
  'write:suppliers',
  'read:products',
  'write:products',
  'read:*',
  'write:*',
  'admin',
];

export const SCOPE_DESCRIPTIONS: Readonly<Record<Scope, string>> = {
  'read:certificates': 'Read certificate data',
  'write:certificates': 'Create and update certificates',
  'read:suppliers': 'Read supplier data',
  'write:suppliers': 'Create and update suppliers',
  'read:products': 'Read product data',
  'write:products': 'Create and update products',
  'read:*': 'Read all supply-chain data',
  'write:*': 'Create and update all supply-chain data',
  admin: 'Full access to all resources, including keys, apps and audit logs',
};

const SCOPE_SET: ReadonlySet<string> = new Set(SCOPES);

export function isScope(value: unknown): value is Scope {
  return typeof value === 'string' && SCOPE_SET.has(value);
}

/**
 * The atomic permissions a scope grants. `admin` is kept as its own atom because it also unlocks
 * access management, which no resource scope does.
 */
function atomsOf(scope: Scope): string[] {
  if (scope === 'admin') {
    return ['admin', ...RESOURCES.flatMap((r) => [`read:${r}`, `write:${r}`])];
  }
  const [action, resource] = scope.split(':') as [Action, Resource | '*'];
  const resources = resource === '*' ? RESOURCES : [resource];
  return resources.flatMap((r) => (action === 'write' ? [`write:${r}`, `read:${r}`] : [`read:${r}`]));
}

/**
 * Expansions of scope lists already seen, by list identity: a cached credential hands the same array to every
 * request, so the scope check of the hot path is a WeakMap lookup and a Set probe.
 */
const expanded = new WeakMap<readonly string[], ReadonlySet<string>>();

/** Expands a scope list into the set of atomic permissions it grants. Unknown strings grant nothing. */
export function expandScopes(scopes: readonly string[]): ReadonlySet<string> {
  const known = expanded.get(scopes);
  if (known) return known;
  const atoms = new Set<string>();
  for (const scope of scopes) {
    if (isScope(scope)) for (const atom of atomsOf(scope)) atoms.add(atom);
  }
  expanded.set(scopes, atoms);
  return atoms;
}

const requiredAtoms = new Map<Scope, readonly string[]>();

/**
 * Whether a credential holding `granted` may do what `required` allows.
 *
 * @example
 * hasScope(['write:suppliers'], 'read:suppliers') // true
 * hasScope(['read:*'], 'write:products')           // false
 */
export function hasScope(granted: readonly string[], required: Scope): boolean {
  const atoms = expandScopes(granted);
  let needed = requiredAtoms.get(required);
  if (!needed) {
    needed = atomsOf(required);
    requiredAtoms.set(required, needed);
  }
  for (const atom of needed) if (!atoms.has(atom)) return false;
  return true;
}

/**
 * The scopes of `requested` that `held` does not cover: empty when a credential holding `held` may mint
 * one with `requested` (no escalation, DESIGN §3).
 */
export function scopesBeyond(requested: readonly Scope[], held: readonly string[]): Scope[] {
  const atoms = expandScopes(held);
  return requested.filter((scope) => atomsOf(scope).some((atom) => !atoms.has(atom)));
}

/** Removes duplicates and keeps the canonical order, so stored scope lists compare and display well. */
export function normalizeScopes(scopes: readonly Scope[]): Scope[] {
  const wanted = new Set(scopes);
  return SCOPES.filter((s) => wanted.has(s));
}
