// callvault console: the transcript follows the recording. The word being said is
// highlighted; a click on a word (or Enter on it) plays from there. Everything else on the
// page works without this script.
(() => {
  "use strict";
  const audio = document.querySelector("audio[data-transcript]");
  if (!audio) return;
  const words = Array.from(document.querySelectorAll(".transcript .word[data-start]"));
  if (!words.length) return;
  // Offsets are seconds; a transcript whose offsets run far past the recording is in ms.
  let scale = 1;
  const fitScale = () => {
    const last = Math.max(...words.map((w) => Number(w.dataset.end) || 0));
    if (audio.duration && last > audio.duration * 10) scale = 1000;
  };
  audio.addEventListener("loadedmetadata", fitScale);
  let current = null;
  const highlight = () => {
    const t = audio.currentTime * scale;
    const word = words.find((w) => Number(w.dataset.start) <= t && t < Number(w.dataset.end)) || null;
    if (word === current) return;
    if (current) { current.classList.remove("current"); current.removeAttribute("aria-current"); }
    if (word) { word.classList.add("current"); word.setAttribute("aria-current", "true"); }
    current = word;
  };
  audio.addEventListener("timeupdate", highlight);
  audio.addEventListener("seeked", highlight);
  for (const word of words) {
    word.tabIndex = 0;
    word.setAttribute("role", "button");
    const seek = () => { audio.currentTime = Number(word.dataset.start) / scale; audio.play(); };
    word.addEventListener("click", seek);
    word.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); seek(); } });
  }
})();
