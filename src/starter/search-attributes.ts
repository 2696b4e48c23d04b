import { temporal } from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { SEARCH_ATTRIBUTE_TYPES } from '../shared/search-attributes';

/**
 * Registers the product's search attributes on the namespace where they are missing (a workflow that sets an
 * unknown one fails its task). Done when schedules are created, so an upgrade that adds one (FtpKind) needs no
 * manual step; where the caller may not register them, the error says which ones to create and how.
 */
export async function ensureSearchAttributes(client: Client, namespace: string): Promise<string[]> {
  const operator = client.connection.operatorService;
  const { customAttributes } = await operator.listSearchAttributes({ namespace });
  const missing = Object.keys(SEARCH_ATTRIBUTE_TYPES).filter((name) => !(name in (customAttributes ?? {})));
  if (missing.length === 0) return [];
  const keyword = temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;
  try {
    await operator.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, keyword])),
    });
  } catch (err) {
    const how = missing.map((name) => `temporal operator search-attribute create --name ${name} --type Keyword`);
    throw new Error(
      `search attributes ${missing.join(', ')} are missing on namespace ${namespace} and could not be added ` +
        `(${err instanceof Error ? err.message : String(err)}); create them: ${how.join('; ')}`,
    );
  }
  return missing;
}
