// The gallery of sample photos that the build copies into samples/ with an index.json.

export interface Sample {
  file: string;
  name: string;
}

export function parseSamples(body: unknown): Sample[] {
  if (!Array.isArray(body)) return [];
  return body.filter(
    (s): s is Sample =>
      !!s && typeof (s as Sample).file === 'string' && /^[\w.-]+$/.test((s as Sample).file) && typeof (s as Sample).name === 'string',
  );
}

export async function fetchSamples(): Promise<Sample[]> {
  try {
    const res = await fetch('samples/index.json');
    if (!res.ok) return [];
    return parseSamples(await res.json());
  } catch {
    return [];
  }
}

export function sampleUrl(s: Sample): string {
  return `samples/${s.file}`;
}
