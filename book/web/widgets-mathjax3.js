/* ipywidgets' controls typeset their labels with the MathJax 2 API, MathJax.Hub.Queue; the book
 * loads MathJax 3, where that API does not exist, so every widget on a page with math would
 * throw. This adds MathJax.Hub.Queue on top of MathJax 3. book/sphinx_ext.py serves it
 * on pages with widgets. It acts at DOMContentLoaded: MathJax (a deferred script) has run by
 * then, and the widgets render later, at the window's load event. */
document.addEventListener("DOMContentLoaded", function () {
  var mathjax = window.MathJax;
  if (!mathjax || !mathjax.startup || mathjax.Hub) {
    return; // no MathJax 3 on this page, or a MathJax 2 that has its own Hub
  }
  mathjax.Hub = {
    Queue: function (command) {
      var element = command && command[0] === "Typeset" ? command[2] : null;
      if (element) {
        mathjax.startup.promise.then(function () {
          return mathjax.typesetPromise([element]);
        });
      }
    },
  };
});
