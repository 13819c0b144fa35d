// jpkisim's additions to Stateright's Explorer page (served as /.jpkisim/page.js after
// Stateright's app.js): the headline (configuration, variant, trace), the startup search's
// progress and what it proved for each property, from /.jpkisim/status; and event numbers on a
// trace's steps in the path list.
(function () {
    'use strict';
    const panel = document.getElementById('jpk-panel');
    const title = document.getElementById('jpk-title');
    let trace = null;

    function esc(s) {
        return String(s).replace(/[&<>"']/g, (c) => ({
            '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
        })[c]);
    }

    const WORDS = {
        'violated': (p) => `⚠ violated: shortest counterexample in ${p.steps} steps`,
        'holds': () => '✔ holds: no reachable state violates it',
        'triggered': (p) => `✔ triggered: shortest example in ${p.steps} steps`,
        'never triggered': () => '⚠ never triggered: no reachable state reaches it',
        'searching': () => '… searching',
        'not searched': () => '· not searched',
    };

    function render(st) {
        const page = st.page || {};
        title.textContent = page.config ? `${page.title} — ${page.config}` : (page.title || '');
        document.title = `jpkisim Explorer — ${page.title || ''}`;
        trace = page.trace || null;
        const s = st.search || {};
        const mem = s.memory_mb ? `, ${s.memory_mb.toFixed(0)} MB` : '';
        let h = '';
        if (s.state === 'running') {
            h += `<p class="jpk-search running">Startup search for the shortest paths running: ${s.seconds.toFixed(0)} s${mem}. The page fills in when it ends.</p>`;
        } else if (s.state === 'done') {
            h += `<p class="jpk-search done">Startup search done in ${s.seconds.toFixed(1)} s${mem}.</p>`;
        } else {
            h += '<p class="jpk-search off">No startup search (<code>explore --search</code> runs it): Stateright\'s own checker decides after "Run to completion".</p>';
        }
        if (trace) {
            h += `<p class="jpk-trace">Trace: <a class="font-code" href="#/steps/${esc(trace.path)}">${esc(trace.label)}</a></p>`;
        }
        // Failures first, each with its summary; the properties that are fine in one line each
        // group, with their summaries on hover.
        const props = st.properties || [];
        const link = (p, text) => p.path
            ? `<a class="font-code" href="#/steps/${esc(p.path)}" title="${esc(p.summary)}">${esc(text)}</a>`
            : `<span class="font-code" title="${esc(p.summary)}">${esc(text)}</span>`;
        h += '<ul class="jpk-props">';
        for (const p of props.filter((p) => p.verdict === 'violated' || p.verdict === 'never triggered')) {
            const cls = 'jpk-' + p.verdict.replace(/ /g, '-');
            h += `<li class="${cls}" data-property="${esc(p.id)}">${link(p, p.id)}: <span class="jpk-verdict">${esc(WORDS[p.verdict](p))}</span><div class="jpk-summary">${esc(p.summary)}</div></li>`;
        }
        const groups = [
            ['holds', 'jpk-holds', '✔ safety, holds (no reachable state violates it)', (p) => link(p, p.id)],
            ['triggered', 'jpk-triggered', '✔ reachability, triggered (steps of the shortest example)', (p) => link(p, `${p.id} (${p.steps})`)],
            ['searching', 'jpk-searching', '… searching', (p) => link(p, p.id)],
            ['not searched', 'jpk-not-searched', '· not searched', (p) => link(p, p.id)],
        ];
        for (const [verdict, cls, words, show] of groups) {
            const some = props.filter((p) => p.verdict === verdict);
            if (some.length) {
                const items = some.map((p) => `<span data-property="${esc(p.id)}" data-verdict="${esc(p.verdict)}">${show(p)}</span>`);
                h += `<li class="${cls}"><span class="jpk-verdict">${esc(words)} (${some.length}):</span> ${items.join(', ')}</li>`;
            }
        }
        h += '</ul>';
        panel.innerHTML = h;
        label();
    }

    function poll() {
        fetch('/.jpkisim/status')
            .then((r) => r.json())
            .then((st) => {
                render(st);
                if ((st.search || {}).state === 'running') {
                    setTimeout(poll, 1000);
                }
            })
            .catch(() => setTimeout(poll, 2000));
    }

    // A step of the opened trace shows its event number (as `conform` and `run` number it).
    function label() {
        const items = document.querySelectorAll('.path-list > li');
        const tracePath = trace ? trace.path.split('/') : [];
        items.forEach((li) => {
            const a = li.querySelector('a');
            const href = a ? a.getAttribute('href') || '' : '';
            const m = href.match(/^#\/steps\/(.*)$/);
            const parts = m ? m[1].split('/') : [];
            const steps = parts.length - 1;
            const onTrace = trace && steps >= 1 && steps <= trace.events.length
                && parts.every((x, i) => x === tracePath[i]);
            // 0: a step no observed party logged (`conform --explore` shows the run it assumed).
            if (onTrace && trace.events[steps - 1] !== 0) {
                li.setAttribute('data-event', trace.events[steps - 1]);
                li.removeAttribute('data-unobserved');
            } else if (onTrace) {
                li.setAttribute('data-unobserved', '');
                li.removeAttribute('data-event');
            } else {
                li.removeAttribute('data-event');
                li.removeAttribute('data-unobserved');
            }
        });
    }

    const list = document.querySelector('.path-list');
    if (list) {
        new MutationObserver(label).observe(list, { childList: true, subtree: true });
    }
    poll();
})();
