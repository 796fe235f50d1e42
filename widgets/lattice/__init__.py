"""Views of the lattice tools: the Fourier map with its Bragg peaks and q-cut, the QPI dispersion image
and the option dialogs. They show what they are given and emit what the user does; nothing here computes."""
