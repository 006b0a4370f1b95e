/* Menus. Phones and tablets (below 992 px): sphinx-book-theme 1.3 draws its own chapter-menu and contents
   buttons, but pydata-sphinx-theme 0.17 binds its dialogs to the first .primary-toggle and
   .secondary-toggle in the page, which the book theme hides. A click on a visible button is passed to
   the bound one, which opens the menu as a dialog. On wide screens the book theme's own behaviour stays. */
(function () {
  "use strict";
  function forward(kind) {
    var buttons = document.querySelectorAll("." + kind + "-toggle");
    if (buttons.length < 2) return;
    var bound = buttons[0];
    Array.prototype.slice.call(buttons, 1).forEach(function (button) {
      if (!button.getAttribute("aria-label")) {
        button.setAttribute("aria-label", kind === "primary" ? "Chapters" : "Contents of this page");
      }
      button.addEventListener("click", function (event) {
        if (window.innerWidth >= 992) return;
        event.preventDefault();
        event.stopImmediatePropagation();
        bound.click();
      }, true);
    });
  }
  function landmark() {
    // The sidebar's first item (the course title) sits outside any landmark (axe: region).
    var sidebar = document.querySelector(".bd-sidebar-primary");
    if (sidebar && !sidebar.getAttribute("role")) {
      sidebar.setAttribute("role", "complementary");
      sidebar.setAttribute("aria-label", "Course navigation");
    }
  }
  function setUp() { forward("primary"); forward("secondary"); landmark(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
