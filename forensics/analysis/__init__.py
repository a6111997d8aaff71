"""From frames to findings: the shared joins (`correlate`), one cause per module (`rules`, with
`causes` deriving every table from their declarations), the merge and summary (`analyze`,
`incident`), the findings and their typed document (`findings`, `document`), remediation, and the
image-platform check of `forensics platforms --require` (`platforms_check`)."""
