/** The items of one composite (each, parallel) as a live grid; a click opens that item. */
import { useState } from 'react';
import { getJson, type ExecutionBody, type ItemStates } from '../api.js';
import { usePoll } from '../hooks.js';
import { navigate } from '../router.js';
import { ItemGrid } from './ItemGrid.js';

export function ArrayItems({ execution, live }: { execution: ExecutionBody; live: boolean }) {
  const items = usePoll((signal) => getJson<ItemStates>(`/executions/${execution.id}/items`, { signal }), execution.id, live ? 2000 : 0);
  const [error, setError] = useState<string>();
  const openItem = async (idx: number) => {
    try {
      const item = await getJson<ExecutionBody>(`/executions/${execution.id}/items/${idx}`);
      navigate(`/executions/${item.id}`);
    } catch (caught) {
      setError(`item ${idx}: ${caught instanceof Error ? caught.message : String(caught)}`);
    }
  };
  return (
    <>
      <h2>
        {execution.name}: {execution.childCount.toLocaleString()} items
      </h2>
      {items.data ? <ItemGrid states={items.data.states} onPick={(idx) => void openItem(idx)} /> : <p className="muted">Loading items…</p>}
      {error && <p className="error">{error}</p>}
    </>
  );
}
