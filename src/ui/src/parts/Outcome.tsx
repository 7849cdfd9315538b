/** A job's or an execution's result and error, as rows of a facts list (nothing when absent). */
export function Outcome({ result, error }: { result: string | null; error: string | null }) {
  return (
    <>
      {result !== null && (
        <>
          <dt>Result</dt>
          <dd>
            <pre className="result">{result}</pre>
          </dd>
        </>
      )}
      {error !== null && (
        <>
          <dt>Error</dt>
          <dd>
            <pre className="result error">{error}</pre>
          </dd>
        </>
      )}
    </>
  );
}
