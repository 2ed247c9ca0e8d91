import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { serviceAclCommands, serviceAcls } from './kafka-acl.ts';
import { aclFileLine, keyPatterns, REDIS_SERVICE_COMMANDS, serviceAclRules } from './redis-acl.ts';

/** Redis glob (the subset the patterns use: *, [0-9]) as a RegExp, to see what a pattern opens. */
function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${body}$`);
}

describe('the services Redis ACL user', () => {
  it('opens the deployment keys, its generations and its #-keys, and no other prefix', () => {
    const open = (key: string) => keyPatterns('ls').some((p) => globToRegExp(p).test(key));
    for (const key of [
      'ls:{07}:lead-1',
      'ls:names',
      'ls:alerts:{default}:due',
      'ls#generation',
      'ls.g3:{01}:x',
    ])
      expect(open(key), key).toBe(true);
    for (const key of ['lsx:{07}:lead-1', 'other:key', 'ls', 'ls.gx:names', 'xls:names', 'ls.staging:names'])
      expect(open(key), key).toBe(false);
  });

  it('allows listed commands only: no category, nothing that administers or wipes Redis', () => {
    const rules = serviceAclRules('ls', 'pw');
    expect(rules.slice(0, 2)).toEqual(['reset', 'on']);
    expect(rules).toContain('-@all');
    expect(rules).toContain('resetchannels');
    expect(rules.filter((r) => r.startsWith('+@'))).toEqual([]);
    for (const c of [
      'flushall',
      'flushdb',
      'keys',
      'config',
      'acl',
      'debug',
      'shutdown',
      'monitor',
      'script',
    ])
      expect(REDIS_SERVICE_COMMANDS as readonly string[], c).not.toContain(c);
  });

  it('holds the password only as its SHA-256', () => {
    const line = aclFileLine('lead-scorer', 'ls', 'a secret password');
    expect(line).not.toContain('a secret password');
    expect(line).toContain(`#${createHash('sha256').update('a secret password').digest('hex')}`);
    expect(line.startsWith('user lead-scorer reset on #')).toBe(true);
  });

  it('is the rule deploy/README.md shows', () => {
    const guide = readFileSync(join(import.meta.dirname, '../../deploy/README.md'), 'utf8');
    const shown = /\n(user lead-scorer [^`]*)```/.exec(guide)?.[1]?.split(/\s+/).filter(Boolean);
    const rule = aclFileLine('lead-scorer', 'ls', 'x').split(' ');
    expect(shown?.map((w) => (w === '#<sha256>' ? rule[4] : w))).toEqual(rule);
  });
});

describe('the services Kafka ACLs', () => {
  it('are the commands deploy/README.md shows', () => {
    const guide = readFileSync(join(import.meta.dirname, '../../deploy/README.md'), 'utf8');
    for (const line of serviceAclCommands('lead-scorer', '<TOPIC_PREFIX>', 'lead-scorer.'))
      expect(guide).toContain(line);
  });

  it('grant prefixed topics and groups only, no cluster right, no Delete', () => {
    const acls = serviceAcls('lead-scorer', 'staging.', 'lead-scorer.');
    expect(new Set(acls.map((a) => a.resourceName))).toEqual(new Set(['staging.', 'lead-scorer.']));
    expect(acls.every((a) => a.resourcePatternType === 4 && a.permissionType === 3)).toBe(true);
    expect(acls.some((a) => a.resourceType === 4)).toBe(false); // CLUSTER
    expect(acls.some((a) => a.operation === 6 || a.operation === 2)).toBe(false); // DELETE, ALL
  });
});
