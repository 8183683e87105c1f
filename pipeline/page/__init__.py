"""One page's text: opening and rendering documents, the text layer, line segmentation, assembly
into reading order, Markdown and tables, repetition, scoring and language."""
