"""The few lines of browser JavaScript the UI needs (run by Gradio's ``js_on_load`` / ``js=`` hooks).

They only move the page around (seek the audio, scroll to a segment, follow a link inside the app);
every change of data goes through a Python event handler and the engine.
"""

# Links inside an HTML panel that open a transcription (data-open) or a customer (data-customer) in
# this page; a modified click (new tab, new window) keeps the browser's own behaviour.
OPEN_LINKS = """
element.addEventListener('click', (event) => {
  const link = event.target.closest('[data-open],[data-customer]');
  if (!link || event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) return;
  event.preventDefault();
  trigger('click', {transcription_id: link.dataset.open || '', customer_id: link.dataset.customer || ''});
});
"""

# The conversation: clicking a timed segment plays the recording from there; while it plays, the
# segment being spoken is highlighted, and the word being spoken in it.
TRANSCRIPT = """
element.addEventListener('click', (event) => {
  if (event.target.closest('audio') || event.target.closest('.hl-seg-tools, .hl-undo-bar, .hl-editing')) return;
  const segment = event.target.closest('.hl-seg[data-start]');
  const player = element.querySelector('#hl-audio');
  if (!segment || !player) return;
  player.currentTime = parseFloat(segment.dataset.start);
  const playing = player.play();
  if (playing) playing.catch(() => {});
});
element.addEventListener('timeupdate', (event) => {
  const player = event.target;
  if (!player || player.id !== 'hl-audio') return;
  const now = player.currentTime + 0.05;
  let current = null;
  for (const segment of element.querySelectorAll('.hl-seg[data-start]')) {
    if (parseFloat(segment.dataset.start) <= now) current = segment; else break;
  }
  for (const segment of element.querySelectorAll('.hl-seg.hl-playing')) {
    if (segment !== current) segment.classList.remove('hl-playing');
  }
  if (current) current.classList.add('hl-playing');
  highlightWord(current, now);
}, true);
// Inline corrections: Edit makes the line editable; Save, Split (at the cursor), Merge, a speaker picked,
// Undo go to the Python handler, which corrects the transcript through the engine and re-renders it.
element.addEventListener('click', (event) => {
  const control = event.target.closest('button[data-edit]');
  if (!control) return;
  event.preventDefault();
  const segment = control.closest('.hl-seg');
  const index = segment ? Number(segment.dataset.index) : -1;
  const text = segment ? segment.querySelector('.hl-seg-text') : null;
  const action = control.dataset.edit;
  if (action === 'edit') {
    segment.classList.add('hl-editing');
    text.contentEditable = 'true';
    text.focus();
  } else if (action === 'save') {
    trigger('click', {edit: 'text', index, text: text.innerText});
  } else if (action === 'split') {
    const selection = window.getSelection();
    if (!selection.rangeCount || !text.contains(selection.anchorNode)) return;
    const before = document.createRange();
    before.selectNodeContents(text);
    before.setEnd(selection.anchorNode, selection.anchorOffset);
    trigger('click', {edit: 'split', index, at: before.toString().length});
  } else {
    trigger('click', {edit: action, index});
  }
});
element.addEventListener('change', (event) => {
  const pick = event.target.closest('select[data-edit="speaker"]');
  if (!pick) return;
  trigger('click', {edit: 'speaker', index: Number(pick.closest('.hl-seg').dataset.index), speaker: pick.value});
});
// The word being played, marked with the CSS Custom Highlight API (no change to the page's markup, so
// evidence marks stay as they are); browsers without it just keep the segment highlight.
function highlightWord(segment, now) {
  if (!window.CSS || !CSS.highlights || typeof Highlight === 'undefined') return;
  CSS.highlights.delete('hl-word');
  if (!segment || !segment.dataset.words) return;
  const words = segment.dataset.words.split(';').map((cell) => cell.split(',').map(Number));
  let word = null;
  for (const candidate of words) {
    if (candidate[0] <= now) word = candidate; else break;
  }
  if (!word || now > word[1] + 0.3) return;
  const text = segment.querySelector('.hl-seg-text');
  const walker = document.createTreeWalker(text, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  let seen = 0, started = false;
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const length = node.textContent.length;
    if (!started && word[2] < seen + length) { range.setStart(node, word[2] - seen); started = true; }
    if (started && word[3] <= seen + length) { range.setEnd(node, word[3] - seen); break; }
    seen += length;
  }
  if (started) CSS.highlights.set('hl-word', new Highlight(range));
}
"""

# Evidence quotes next to the extracted fields: show the segment they come from (and seek there).
EVIDENCE_LINKS = """
element.addEventListener('click', (event) => {
  const quote = event.target.closest('[data-seg]');
  if (!quote) return;
  event.preventDefault();
  const segment = document.getElementById('hl-seg-' + quote.dataset.seg);
  if (!segment) return;
  segment.scrollIntoView({behavior: 'smooth', block: 'center'});
  segment.classList.add('hl-flash');
  setTimeout(() => segment.classList.remove('hl-flash'), 1800);
  const player = document.getElementById('hl-audio');
  if (player && segment.dataset.start) player.currentTime = parseFloat(segment.dataset.start);
});
"""

# Transcriptions table: row links open the transcript; the header checkbox selects the whole page.
LIST_TABLE = OPEN_LINKS + """
element.addEventListener('change', (event) => {
  if (!event.target.matches('.hl-check-all')) return;
  for (const box of element.querySelectorAll('.hl-row-check')) box.checked = event.target.checked;
});
"""

# For a bulk action button: replace the last input with the ids ticked in the transcriptions table.
CHECKED_IDS = """
(...args) => {
  const ids = Array.from(document.querySelectorAll('#hl-list .hl-row-check:checked')).map((box) => box.value);
  return [...args.slice(0, -1), ids.join(',')];
}
"""

# Keep the address bar on the transcription being shown, so it can be bookmarked or reloaded.
REMEMBER_TRANSCRIPT = """
(transcriptionId) => {
  const url = new URL(window.location.href);
  if (transcriptionId) url.searchParams.set('t', transcriptionId); else url.searchParams.delete('t');
  window.history.replaceState(null, '', url);
  return [];
}
"""

# For a destructive button: the last input becomes "yes" only when the user confirms in a dialog.
def confirm(question: str) -> str:
    text = question.replace("\\", "\\\\").replace("'", "\\'")
    return f"""
(...args) => [...args.slice(0, -1), window.confirm('{text}') ? 'yes' : 'no']
"""
