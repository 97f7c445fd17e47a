package units

// Bounds of what the include directives of one nginx or keepalived
// configuration may read, so that a hostile configuration gets a short
// answer in bounded time and memory.
const (
	// MaxIncludeDepth bounds how deep includes nest.
	MaxIncludeDepth = 16
	// MaxIncludeFiles bounds how many files one configuration reads.
	MaxIncludeFiles = 256
	// MaxIncludeBytes bounds the size of all the files read, together.
	MaxIncludeBytes = 16 << 20
)

// placeBits is how many low bits of a place hold the line.
const placeBits = 32

// Place returns the place of line (1-based) of file idx (0 the main file,
// then the files it includes in the order read) as one int, so that a
// parser's nodes and errors carry their file with their line. Place(0, n)
// is n.
func Place(idx, line int) int { return idx<<placeBits | line }

// Unplace splits a place into the file's index and its line.
func Unplace(place int) (idx, line int) { return place >> placeBits, place & (1<<placeBits - 1) }
