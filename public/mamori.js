// Progressive enhancement only: every page works without this file.
// Moves focus to the error summary so screen-reader and keyboard users hear what went wrong.
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
});
