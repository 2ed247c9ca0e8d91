import type { AclEntry, AclOperationTypes } from 'kafkajs';
import kafkajs from 'kafkajs';

// kafkajs is CommonJS and Node cannot see these enums as named exports: read them off the module.
const { AclOperationTypes: Op, AclPermissionTypes, AclResourceTypes, ResourcePatternTypes } = kafkajs;
type Op = AclOperationTypes;

/**
 * The Kafka ACLs the services' user needs on a cluster with an authorizer: on the topics under
 * TOPIC_PREFIX and the consumer groups under the group prefix (`lead-scorer.` by default), nothing
 * else. The secure integration test grants exactly these on a broker that authorizes and runs the
 * services through it; deploy/README.md "Security" lists them for SREs.
 *
 * - topics: Read (consume), Write (stage changes, dead letters, profile tombstones), Describe
 *   (metadata, offsets); Create, Alter (partitions), DescribeConfigs and AlterConfigs for
 *   ENSURE_TOPICS=true and `npm run topics`;
 * - groups: Read (join, commit), Describe (the committed offsets read at start).
 */
export const SERVICE_TOPIC_OPERATIONS = [
  Op.READ,
  Op.WRITE,
  Op.DESCRIBE,
  Op.CREATE,
  Op.ALTER,
  Op.DESCRIBE_CONFIGS,
  Op.ALTER_CONFIGS,
] as const;
export const SERVICE_GROUP_OPERATIONS = [Op.READ, Op.DESCRIBE] as const;

export function serviceAcls(user: string, topicPrefix: string, groupPrefix: string): AclEntry[] {
  const allow = (resourceType: AclEntry['resourceType'], resourceName: string, operation: Op): AclEntry => ({
    resourceType,
    resourceName,
    resourcePatternType: ResourcePatternTypes.PREFIXED,
    principal: `User:${user}`,
    host: '*',
    operation,
    permissionType: AclPermissionTypes.ALLOW,
  });
  return [
    ...SERVICE_TOPIC_OPERATIONS.map((op) => allow(AclResourceTypes.TOPIC, topicPrefix, op)),
    ...SERVICE_GROUP_OPERATIONS.map((op) => allow(AclResourceTypes.GROUP, groupPrefix, op)),
  ];
}

/** The same, as kafka-acls.sh command lines for an operator. */
export function serviceAclCommands(user: string, topicPrefix: string, groupPrefix: string): string[] {
  // kafka-acls.sh spells operations in PascalCase: DESCRIBE_CONFIGS is DescribeConfigs.
  const name = (op: Op) =>
    (Object.entries(Op).find(([, v]) => v === op)?.[0] ?? String(op))
      .split('_')
      .map((w) => w[0] + w.slice(1).toLowerCase())
      .join('');
  const base = `kafka-acls.sh --bootstrap-server <broker:port> --command-config admin.properties --add --allow-principal User:${user} --resource-pattern-type prefixed`;
  return [
    `${base} --topic '${topicPrefix}' ${SERVICE_TOPIC_OPERATIONS.map((op) => `--operation ${name(op)}`).join(' ')}`,
    `${base} --group '${groupPrefix}' ${SERVICE_GROUP_OPERATIONS.map((op) => `--operation ${name(op)}`).join(' ')}`,
  ];
}
