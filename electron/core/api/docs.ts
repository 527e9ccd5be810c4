/**
 * The API reference as one self-contained page (no script, no CDN: it must open on a
 * closed network and under a CSP of `default-src 'none'`), rendered from the OpenAPI document.
 */
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);

interface Operation {
  summary?: string;
  description?: string;
  parameters?: { name: string; in: string; required?: boolean; schema?: unknown; description?: string }[];
  requestBody?: { description?: string; content: Record<string, { schema?: unknown }> };
  responses: Record<string, { description: string; content?: Record<string, { schema?: unknown }> }>;
  security?: unknown[];
}

export function renderDocs(document: { info: { title: string; version: string; description?: string }; paths: Record<string, Record<string, Operation>> }): string {
  const sections: string[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const params = (operation.parameters ?? [])
        .map((param) => `<li><code>${escapeHtml(param.name)}</code> (${param.in}${param.required ? ', required' : ''})${param.description ? ` — ${escapeHtml(param.description)}` : ''}: <code>${escapeHtml(JSON.stringify(param.schema))}</code></li>`)
        .join('');
      const body = operation.requestBody
        ? `<h4>Body</h4><p>${escapeHtml(operation.requestBody.description ?? '')}</p>${Object.entries(operation.requestBody.content)
            .map(([type, media]) => `<details><summary><code>${escapeHtml(type)}</code></summary><pre>${escapeHtml(JSON.stringify(media.schema, null, 2))}</pre></details>`)
            .join('')}`
        : '';
      const responses = Object.entries(operation.responses)
        .map(([status, response]) => {
          const schemas = Object.entries(response.content ?? {})
            .map(([type, media]) => `<details><summary><code>${escapeHtml(type)}</code></summary><pre>${escapeHtml(JSON.stringify(media.schema, null, 2))}</pre></details>`)
            .join('');
          return `<li><b>${status}</b> ${escapeHtml(response.description)}${schemas}</li>`;
        })
        .join('');
      sections.push(
        `<section><h3><span class="m">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code>${operation.security?.length === 0 ? ' <small>(no key)</small>' : ''}</h3><p>${escapeHtml(operation.summary ?? '')}</p>${operation.description ? `<p>${escapeHtml(operation.description)}</p>` : ''}${params ? `<h4>Parameters</h4><ul>${params}</ul>` : ''}${body}<h4>Responses</h4><ul>${responses}</ul></section>`,
      );
    }
  }
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(document.info.title)}</title><style>
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
section{border-top:1px solid #ddd;padding:.5rem 0}.m{display:inline-block;min-width:3.5rem;font-weight:700;color:#0a5}
pre{background:#f6f6f6;padding:.5rem;overflow:auto;font-size:12px}code{font-size:13px}
</style></head><body><h1>${escapeHtml(document.info.title)} <small>${escapeHtml(document.info.version)}</small></h1><p>${escapeHtml(document.info.description ?? '')}</p><p>Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a></p>${sections.join('\n')}</body></html>`;
}
