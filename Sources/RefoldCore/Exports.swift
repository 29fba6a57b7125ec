// A projection writes its row with `JSONWriter` and reads payloads with `EventView`'s scanner:
// `import RefoldCore` is all a projection needs.
@_exported import RefoldJSON
