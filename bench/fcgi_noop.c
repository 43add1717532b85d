/*
 * bench/fcgi_noop.c -- the FastCGI ceiling: a minimal libfcgi responder
 * that reads the whole request body and answers 202 with the service's
 * body, to every request.  Started like the service (spawn-fcgi, fd 0 is
 * the listening socket) so that nginx -> FastCGI costs are the same.
 */
#include <signal.h>
#include <string.h>

#include <fcgiapp.h>

static const char reply[] =
    "Status: 202 Accepted\r\n"
    "Content-Type: application/json\r\n"
    "Content-Length: 21\r\n"
    "\r\n"
    "{\"status\":\"accepted\"}";

int
main(void)
{
	static char buf[65536];
	FCGX_Request req;

	signal(SIGPIPE, SIG_IGN);
	if (FCGX_Init() != 0 || FCGX_InitRequest(&req, 0, 0) != 0)
		return 1;
	while (FCGX_Accept_r(&req) >= 0) {
		while (FCGX_GetStr(buf, (int)sizeof(buf), req.in) > 0)
			;
		FCGX_PutStr(reply, (int)strlen(reply), req.out);
		FCGX_Finish_r(&req);
	}
	return 0;
}
