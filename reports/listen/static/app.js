// The rating page: one trial at a time, samples known only by random tokens (server.py).
// No libraries, nothing fetched from elsewhere. Keyboard: letters play a sample (R: the MUSHRA
// reference), Space or Esc stops, 1-5 rate the sample last played (MOS).
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const KEY = "listen.rater";
  const MOS = [[1, "Bad"], [2, "Poor"], [3, "Fair"], [4, "Good"], [5, "Excellent"]];
  const TEXT = {
    mos: "Play every version, then rate its overall sound quality from 1 (bad) to 5 (excellent).",
    mushra: "Play the reference and every version, then rate each from 0 to 100 against the " +
      "reference (0-20 bad, 20-40 poor, 40-60 fair, 60-80 good, 80-100 excellent). One of " +
      "the versions is the reference itself: rate it 100.",
    training: "Training: listen to every version of this excerpt to hear the range of quality " +
      "in the test, and set your volume. Nothing is recorded on this page.",
  };
  let rater = null;
  let view = null; // {kind, k, n, scale, samples, ref, started}
  let playing = null; // the sample (or reference) playing now
  let last = null; // the sample played last: digit keys rate it

  async function api(path, options) {
    const response = await fetch(path, options);
    let body = {};
    try {
      body = await response.json();
    } catch (e) {
      body = {};
    }
    if (!response.ok) {
      const error = new Error(body.error || `HTTP ${response.status}`);
      error.body = body;
      error.status = response.status;
      throw error;
    }
    return body;
  }

  const withRater = (path, extra = "") => `${path}?rater=${encodeURIComponent(rater)}${extra}`;

  function show(name) {
    for (const s of ["start", "test", "done", "error"]) $(`view-${s}`).hidden = s !== name;
  }

  function status(text, isError = false) {
    $("status").textContent = text;
    $("status").classList.toggle("error", isError);
  }

  function fail(error) {
    if (error.status === 400 || error.status === 403) {
      // the rater id was refused: back to the start page with the reason
      clear();
      localStorage.removeItem(KEY);
      $("who").hidden = true;
      $("start-error").textContent = error.message;
      return show("start");
    }
    stop();
    $("error-text").textContent = error.message;
    show("error");
  }

  async function begin(id) {
    rater = id;
    localStorage.setItem(KEY, id);
    $("who-id").textContent = id;
    $("who").hidden = false;
    const session = await api(withRater("/api/session"));
    if (session.done) return finish(session.n);
    const trained = localStorage.getItem(`${KEY}.trained.${id}`) === "1";
    if (session.answered === 0 && !trained) return load("training");
    return load("trial", session.next);
  }

  function finish(n) {
    clear();
    $("done-text").textContent = `All ${n} trials are saved. Thank you! You can close this page.`;
    show("done");
  }

  function clear() {
    stop();
    if (!view) return;
    for (const s of [...view.samples, view.ref]) {
      if (s && s.url) URL.revokeObjectURL(s.url);
    }
    view = null;
  }

  async function load(kind, k) {
    clear();
    show("test");
    $("title").textContent = "";
    status("Loading the samples…");
    $("samples").replaceChildren();
    $("next").disabled = true;
    const data = kind === "training"
      ? await api(withRater("/api/training"))
      : await api(withRater("/api/trial", `&k=${k}`));
    const v = {kind, k: data.k || 0, n: data.n || 0, scale: data.scale, samples: [], ref: null};
    v.samples = data.samples.map((s) => ({id: s.id, label: s.label, plays: 0, score: null}));
    if (data.ref) v.ref = {id: data.ref, label: "R", plays: 0, isRef: true};
    await Promise.all([...v.samples, v.ref].filter(Boolean).map(fetchAudio));
    view = v;
    render();
    v.started = performance.now();
    status("");
    $("title").focus(); // off the rater field, so the keys work; screen readers hear the title
  }

  async function fetchAudio(s) {
    const response = await fetch(`/audio/${s.id}`);
    if (!response.ok) throw new Error(`a sample did not load (HTTP ${response.status})`);
    s.url = URL.createObjectURL(await response.blob());
    s.audio = new Audio(s.url);
    s.audio.preload = "auto";
    s.audio.addEventListener("ended", () => {
      if (playing === s) playing = null;
      update();
    });
  }

  function render() {
    const v = view;
    const training = v.kind === "training";
    $("view-test").classList.toggle("training", training);
    $("title").textContent = training ? "Training" : `Trial ${v.k} of ${v.n}`;
    $("progress-text").textContent = training ? "" : `${v.k - 1} of ${v.n} done`;
    $("progress").value = training ? 0 : (v.k - 1) / v.n;
    $("instructions").textContent = training ? TEXT.training : TEXT[v.scale];
    $("ref").hidden = !v.ref;
    $("next").textContent = training ? "Begin the test" : v.k === v.n ? "Finish" : "Next";
    $("keys").textContent = "Keys: the letter of a version plays it" +
      (v.ref ? ", R the reference" : "") + "; Space or Esc stops" +
      (v.scale === "mos" && !training ? "; 1-5 rate the version played last." : ".");
    const list = $("samples");
    for (const s of v.samples) list.append(sampleItem(s, v.scale));
    update();
  }

  function sampleItem(s, scale) {
    const li = document.createElement("li");
    li.className = "sample";
    s.li = li;
    s.button = document.createElement("button");
    s.button.type = "button";
    s.button.className = "play";
    s.button.addEventListener("click", () => toggle(s));
    li.append(s.button);
    const box = document.createElement("fieldset");
    box.className = `score ${scale}`;
    const legend = document.createElement("legend");
    legend.textContent = `Score of version ${s.label}`;
    box.append(legend);
    if (scale === "mos") {
      s.inputs = MOS.map(([value, word]) => {
        const label = document.createElement("label");
        const input = document.createElement("input");
        input.type = "radio";
        input.name = `score-${s.label}`;
        input.value = String(value);
        input.addEventListener("change", () => rate(s, value));
        const face = document.createElement("span");
        const small = document.createElement("small");
        small.textContent = word;
        face.append(String(value), small);
        label.append(input, face);
        box.append(label);
        return input;
      });
    } else {
      const input = document.createElement("input");
      input.type = "range";
      input.min = "0";
      input.max = "100";
      input.step = "1";
      input.value = "0";
      input.setAttribute("aria-label", `Score of version ${s.label}, 0 to 100`);
      const out = document.createElement("output");
      out.textContent = "–";
      input.addEventListener("input", () => {
        out.textContent = input.value;
        rate(s, Number(input.value));
      });
      box.append(input, out);
      s.inputs = [input];
    }
    li.append(box);
    return li;
  }

  function rate(s, value) {
    s.score = value;
    update();
  }

  function toggle(s) {
    if (!view) return;
    if (playing === s) return stop();
    // switching while playing keeps the position: the versions are the same excerpt
    const position = playing ? playing.audio.currentTime : 0;
    stop();
    s.audio.loop = $("loop").checked;
    s.audio.currentTime = position < s.audio.duration ? position : 0;
    s.audio.play().catch((e) => {
      // AbortError: stopped or switched before playback began, as the rater asked
      if (e.name !== "AbortError") status(`Playback failed: ${e.message}`, true);
    });
    s.plays += 1;
    playing = s;
    if (!s.isRef) last = s;
    update();
  }

  function stop() {
    if (playing) {
      playing.audio.pause();
      playing.audio.currentTime = 0;
    }
    playing = null;
    if (view) update();
  }

  function update() {
    const v = view;
    if (!v) return;
    for (const s of v.samples) {
      const on = playing === s;
      s.button.textContent = `${on ? "■ Stop" : "▶ Play"} ${s.label}`;
      s.button.setAttribute("aria-pressed", String(on));
      s.button.setAttribute("aria-label", `${on ? "Stop" : "Play"} version ${s.label}`);
      for (const input of s.inputs) input.disabled = s.plays === 0;
      s.li.classList.toggle("rated", s.score !== null);
    }
    if (v.ref) {
      const on = playing === v.ref;
      $("ref").textContent = `${on ? "■ Stop" : "▶ Play"} reference`;
      $("ref").setAttribute("aria-pressed", String(on));
    }
    const ready = v.samples.every((s) => s.plays > 0 && s.score !== null);
    $("next").disabled = v.kind === "trial" && !ready;
  }

  async function next() {
    const v = view;
    if (!v) return;
    if (v.kind === "training") {
      localStorage.setItem(`${KEY}.trained.${rater}`, "1");
      return begin(rater).catch(fail);
    }
    $("next").disabled = true;
    stop();
    status("Saving…");
    const scores = {};
    const plays = {};
    for (const s of v.samples) {
      scores[s.id] = s.score;
      plays[s.id] = s.plays;
    }
    const body = {
      rater, k: v.k, scores, plays,
      reference_plays: v.ref ? v.ref.plays : null,
      seconds: Math.round((performance.now() - v.started) / 100) / 10,
    };
    try {
      const answer = await api("/api/answer", {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(body),
      });
      if (answer.done) return finish(v.n);
      await load("trial", answer.next);
    } catch (error) {
      if (error.body && error.body.reload) {
        await begin(rater).catch(fail);
        return status(error.message, true);
      }
      status(`Not saved: ${error.message}. Press the button again to retry.`, true);
      update();
    }
  }

  function onKey(event) {
    if (!view || event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof HTMLInputElement && ["text", "search"].includes(target.type)) return;
    const key = event.key;
    if (key === "Escape" || (key === " " && !(target instanceof HTMLButtonElement ||
        target instanceof HTMLInputElement))) {
      event.preventDefault();
      return stop();
    }
    if (/^[a-z]$/i.test(key)) {
      const upper = key.toUpperCase();
      const s = upper === "R" ? view.ref : view.samples.find((x) => x.label === upper);
      if (s) {
        event.preventDefault();
        toggle(s);
      }
      return;
    }
    if (view.scale === "mos" && view.kind === "trial" && /^[1-5]$/.test(key)) {
      const focused = view.samples.find((x) => x.li.contains(document.activeElement));
      const s = focused || last;
      if (s && s.plays > 0) {
        event.preventDefault();
        const input = s.inputs[Number(key) - 1];
        input.checked = true;
        rate(s, Number(key));
      }
    }
  }

  function start() {
    $("start-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const id = $("rater").value.trim();
      $("start-error").textContent = "";
      if (!/^[A-Za-z0-9_.-]{1,40}$/.test(id)) return;
      begin(id).catch(fail);
    });
    $("switch").addEventListener("click", () => {
      clear();
      localStorage.removeItem(KEY);
      $("who").hidden = true;
      show("start");
    });
    $("next").addEventListener("click", () => next());
    $("stop").addEventListener("click", () => stop());
    $("ref").addEventListener("click", () => view && view.ref && toggle(view.ref));
    $("loop").addEventListener("change", () => {
      if (playing) playing.audio.loop = $("loop").checked;
    });
    $("retry").addEventListener("click", () => (rater ? begin(rater).catch(fail) : show("start")));
    document.addEventListener("keydown", onKey);
    const saved = localStorage.getItem(KEY);
    if (saved) {
      $("rater").value = saved;
      begin(saved).catch(fail);
    } else {
      show("start");
      $("rater").focus();
    }
  }

  start();
})();
