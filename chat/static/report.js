/* The printable half-year report (/stats/report): its one button opens the browser's print dialogue. */
const button = document.getElementById("print");
if (button) { button.addEventListener("click", () => window.print()); }
