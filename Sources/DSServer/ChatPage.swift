import DSFormats

/// `GET /`: a self-contained chat page (no build step, nothing loaded from the internet) that streams replies
/// from /v1/chat/completions and keeps the conversation in the page.
enum ChatPage {
    /// The page for a server whose model id is `modelID`: the page sends it with every message (a server started
    /// with `--model-id` answers 404 to any other id).
    static func html(modelID: String) -> String {
        // A JSON string is a JavaScript string literal; `<` escaped so that no id can close the <script> element.
        let literal = JSONOut.string(modelID).text.replacingOccurrences(of: "<", with: "\\u003c")
        return template.replacingOccurrences(of: "__MODEL_ID_LITERAL__", with: literal)
    }

    private static let template = #"""
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dsllm chat</title>
<style>
  :root { --fg:#1d1d1f; --muted:#6e6e73; --bg:#fafafa; --user:#e8f0fe; --bot:#ffffff; --line:#ddd; }
  * { box-sizing: border-box; }
  body { margin:0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--fg); background:var(--bg);
         display:flex; flex-direction:column; height:100vh; }
  header { padding:10px 16px; border-bottom:1px solid var(--line); display:flex; gap:12px; align-items:center; flex-wrap:wrap; }
  header h1 { font-size:16px; margin:0 12px 0 0; }
  header label { color:var(--muted); font-size:13px; }
  header input { width:70px; }
  #system { width:260px; }
  #log { flex:1; overflow-y:auto; padding:16px; }
  .msg { max-width:760px; margin:0 auto 12px; padding:10px 14px; border-radius:10px; white-space:pre-wrap; border:1px solid var(--line); }
  .user { background:var(--user); }
  .assistant { background:var(--bot); }
  .meta { color:var(--muted); font-size:12px; max-width:760px; margin:-8px auto 12px; }
  form { display:flex; gap:8px; padding:12px 16px; border-top:1px solid var(--line); max-width:792px; width:100%; margin:0 auto; }
  textarea { flex:1; resize:none; height:56px; font:inherit; padding:8px; }
  button { font:inherit; padding:0 16px; }
</style>
</head>
<body>
<header>
  <h1>dsllm chat</h1>
  <label>system <input id="system" placeholder="optional system prompt"></label>
  <label>temperature <input id="temperature" type="number" step="0.1" min="0" max="2" value="0.7"></label>
  <label>top_p <input id="top_p" type="number" step="0.05" min="0.05" max="1" value="0.95"></label>
  <label>max tokens <input id="max_tokens" type="number" min="1" value="256"></label>
  <label>API key <input id="key" type="password" style="width:120px"></label>
  <button id="reset" type="button">New chat</button>
</header>
<div id="log"></div>
<form id="form">
  <textarea id="input" placeholder="Type a message and press Enter (Shift+Enter for a new line)"></textarea>
  <button id="send" type="submit">Send</button>
</form>
<script>
const MODEL_ID = __MODEL_ID_LITERAL__;
const log = document.getElementById('log'), input = document.getElementById('input'), form = document.getElementById('form');
const key = document.getElementById('key');
key.value = localStorage.getItem('dsllm-key') || '';
key.onchange = () => localStorage.setItem('dsllm-key', key.value);
let messages = [], busy = null;

function add(role, text) {
  const div = document.createElement('div');
  div.className = 'msg ' + role;
  div.textContent = text;
  log.appendChild(div);
  log.scrollTop = log.scrollHeight;
  return div;
}

document.getElementById('reset').onclick = () => { if (busy) busy.abort(); messages = []; log.innerHTML = ''; };
input.addEventListener('keydown', e => { if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); } });

form.onsubmit = async e => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text || busy) return;
  input.value = '';
  messages.push({role: 'user', content: text});
  add('user', text);
  const out = add('assistant', '');
  const meta = document.createElement('div'); meta.className = 'meta'; log.appendChild(meta);
  const system = document.getElementById('system').value.trim();
  const body = {
    model: MODEL_ID, stream: true, stream_options: {include_usage: true},
    messages: (system ? [{role: 'system', content: system}] : []).concat(messages),
    temperature: parseFloat(document.getElementById('temperature').value),
    top_p: parseFloat(document.getElementById('top_p').value),
    max_tokens: parseInt(document.getElementById('max_tokens').value, 10),
  };
  busy = new AbortController();
  const started = performance.now();
  let reply = '', tokens = 0, first = 0;
  try {
    const headers = {'Content-Type': 'application/json'};
    if (key.value) headers['Authorization'] = 'Bearer ' + key.value;
    const res = await fetch('/v1/chat/completions', {method: 'POST', headers, body: JSON.stringify(body), signal: busy.signal});
    if (!res.ok) { const err = await res.json(); throw new Error(err.error ? err.error.message : res.statusText); }
    const reader = res.body.getReader(), decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const line = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
        if (!line.startsWith('data: ')) continue;
        const data = line.slice(6);
        if (data === '[DONE]') continue;
        const chunk = JSON.parse(data);
        if (chunk.usage) { tokens = chunk.usage.completion_tokens; continue; }
        const delta = chunk.choices[0].delta || {};
        if (delta.content) {
          if (!first) first = performance.now();
          reply += delta.content; out.textContent = reply; log.scrollTop = log.scrollHeight;
        }
      }
    }
    const secs = (performance.now() - started) / 1000;
    meta.textContent = tokens + ' tokens in ' + secs.toFixed(1) + ' s' + (first ? ', first token after ' + ((first - started) / 1000).toFixed(2) + ' s' : '');
  } catch (err) {
    if (err.name !== 'AbortError') meta.textContent = 'error: ' + err.message;
  } finally {
    messages.push({role: 'assistant', content: reply});
    busy = null;
  }
};
</script>
</body>
</html>
"""#
}
